"""The checks: each reads what it needs through the access layer, then a pure function makes findings."""

from __future__ import annotations

from collections.abc import Callable

from bot.checks import unknown_connections
from bot.checks.finding import Finding
from bot.config import SystemSettings
from bot.ibmi import sql
from bot.ibmi.connection import SystemConnection
from bot.ibmi.errors import NotAuthorizedError
from bot.trust import TrustList

CheckFunction = Callable[[SystemConnection, SystemSettings], list[Finding]]


def check_unknown_connections(connection: SystemConnection, settings: SystemSettings) -> list[Finding]:
    try:
        connections = sql.read_tcp_connections(connection)
    except NotAuthorizedError as error:
        return [unknown_connections.cannot_see(settings.name, str(error))]
    try:
        jobs = sql.read_connection_jobs(connection)
    except NotAuthorizedError:
        jobs = None
    return unknown_connections.evaluate(settings.name, connections, jobs, TrustList(settings.trusted))


CHECKS: dict[str, CheckFunction] = {
    unknown_connections.CHECK_ID: check_unknown_connections,
}
