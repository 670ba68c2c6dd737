"""The checks: each reads what it needs through the access layer, then a pure function makes findings.

A `CheckSpec` names a check, its settings type (built from its `[checks.<id>]` options), its
default interval and the function that gathers its rows and evaluates them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.checks import plaintext_services, smtp_relay, splctl_exposure, unknown_connections
from bot.checks.finding import Finding
from bot.config import SystemSettings
from bot.ibmi import sql
from bot.ibmi.connection import SystemConnection
from bot.ibmi.errors import NotAuthorizedError
from bot.ibmi.rows import SmtpListReading
from bot.net import TrustList
from bot.smtp_probe import probe_relay

Runner = Callable[[SystemConnection, SystemSettings, Any], list[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    run: Runner
    settings_type: Callable[..., Any] | None  # built with the check's options as keyword arguments
    default_interval: float  # seconds


def run_unknown_connections(connection: SystemConnection, system: SystemSettings, _settings: Any) -> list[Finding]:
    try:
        connections = sql.read_tcp_connections(connection)
    except NotAuthorizedError as error:
        return [unknown_connections.cannot_see(system.name, str(error))]
    try:
        jobs = sql.read_connection_jobs(connection)
    except NotAuthorizedError:
        jobs = None
    return unknown_connections.evaluate(system.name, connections, jobs, TrustList(system.trusted))


def run_plaintext_services(
    connection: SystemConnection, system: SystemSettings, settings: plaintext_services.PlaintextSettings
) -> list[Finding]:
    try:
        connections = sql.read_tcp_connections(connection)
    except NotAuthorizedError as error:
        return [plaintext_services.cannot_see(system.name, str(error))]
    return plaintext_services.evaluate(system.name, connections, TrustList(system.trusted), settings)


def run_smtp_relay(
    connection: SystemConnection, system: SystemSettings, settings: smtp_relay.SmtpRelaySettings
) -> list[Finding]:
    status = sql.read_smtp_status(connection)
    try:
        lists: SmtpListReading | None = sql.read_smtp_lists(connection)
    except NotAuthorizedError as error:
        lists = SmtpListReading(readable=False, problem=str(error))
    probe = None
    host = settings.probe_host or system_host(system.connection)
    if settings.probe and host:
        probe = probe_relay(
            host,
            settings.probe_port,
            sender=settings.probe_sender,
            recipient=settings.probe_recipient,
            timeout=settings.probe_timeout,
            helo_name=settings.probe_helo,
        )
    return smtp_relay.evaluate(system.name, status, lists, probe, settings)


def run_splctl_exposure(
    connection: SystemConnection, system: SystemSettings, settings: splctl_exposure.SplctlSettings
) -> list[Finding]:
    def readable(read: Callable[[], Any]) -> Any:
        try:
            return read()
        except NotAuthorizedError:
            return None

    holders = readable(lambda: sql.read_special_authority_holders(connection, "*SPLCTL"))
    queues = readable(lambda: sql.read_output_queues(connection))
    jobctl = readable(lambda: sql.read_special_authority_holders(connection, "*JOBCTL"))
    return splctl_exposure.evaluate(system.name, holders, queues, jobctl, settings)


_SYSTEM_KEYWORD = re.compile(r"(?:^|;)\s*SYSTEM\s*=\s*([^;]+)", re.IGNORECASE)


def system_host(connection: str) -> str | None:
    """The host name in an ODBC connection string (SYSTEM=…), where the SMTP probe connects."""
    match = _SYSTEM_KEYWORD.search(connection)
    return match[1].strip() if match else None


CHECKS: dict[str, CheckSpec] = {
    spec.id: spec
    for spec in (
        CheckSpec(unknown_connections.CHECK_ID, run_unknown_connections, None, 300.0),
        CheckSpec(plaintext_services.CHECK_ID, run_plaintext_services, plaintext_services.PlaintextSettings, 300.0),
        CheckSpec(smtp_relay.CHECK_ID, run_smtp_relay, smtp_relay.SmtpRelaySettings, 3600.0),
        CheckSpec(splctl_exposure.CHECK_ID, run_splctl_exposure, splctl_exposure.SplctlSettings, 3600.0),
    )
}


def build_settings(check_id: str, options: Mapping[str, Any]) -> Any:
    """The check's settings from its options; ValueError/TypeError name what is wrong."""
    settings_type = CHECKS[check_id].settings_type
    if settings_type is None:
        if options:
            raise ValueError(f"{check_id} has no options besides enabled and interval (got {', '.join(options)})")
        return None
    return settings_type(**options)
