"""What the Slack handlers and the CLI may ask of the bot. Handlers never touch IBM i directly.

`WardenServices` is the one implementation; handler tests may pass any object with these methods.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from bot.checks import CHECKS
from bot.checks.finding import Finding
from bot.config import CheckSettings, Config
from bot.ibmi import sql
from bot.ibmi.connection import SystemConnection
from bot.ibmi.errors import ConnectionFailedError, DriverMissingError, IbmiError
from bot.trust import TrustList, is_local
from storage import Storage
from storage.check_runs import CheckRun, last_run_per_system, reachability, record_reachability, record_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SystemStatus:
    name: str
    connection_kind: str  # "demo" or "odbc"
    reachable: bool | None  # None = not contacted yet
    error: str | None  # the last error, when unreachable
    last_check_at: datetime | None
    last_check: str | None  # check id of the last run
    last_duration: float | None  # seconds
    last_result: str | None  # e.g. "2 findings", "no findings", "error: …"


@dataclass(frozen=True)
class NetstatEntry:
    remote_address: str
    remote_port: int
    local_address: str
    local_port: int
    local_port_name: str | None
    tcp_state: str | None
    idle_time: Decimal | None
    trusted: bool
    loopback: bool


@dataclass(frozen=True)
class NetstatReport:
    system: str
    entries: tuple[NetstatEntry, ...]  # remote connections (LISTEN rows and UDP left out), untrusted first
    port: int | None  # the --port filter, if any
    note: str | None = None  # e.g. "NETSTAT not readable: …" — never an empty list in disguise


class Services(Protocol):
    def system_names(self) -> list[str]: ...

    def system_statuses(self) -> list[SystemStatus]: ...

    def netstat(self, system: str, port: int | None = None) -> NetstatReport: ...


@dataclass(frozen=True)
class CycleResult:
    findings: tuple[Finding, ...]
    errors: dict[str, str]  # "SYSTEM/check" → error text


class WardenServices:
    """The bot's working parts for one configuration: connections, checks and their records."""

    def __init__(self, config: Config, storage: Storage, env: Mapping[str, str] = os.environ):
        self.config = config
        self.storage = storage
        self._connections = {s.name: SystemConnection(s, env) for s in config.systems}

    def system_names(self) -> list[str]:
        return [s.name for s in self.config.systems]

    def connection(self, system: str) -> SystemConnection:
        return self._connections[self.config.system(system).name]

    def enabled_checks(self) -> list[str]:
        return [c for c in CHECKS if self.config.checks.get(c, CheckSettings()).enabled]

    def run_check(self, system: str, check: str) -> tuple[list[Finding], str | None]:
        """Run one check on one system and record the run; returns its findings and its error, if any."""
        settings = self.config.system(system)
        started = datetime.now(UTC)
        clock = time.monotonic()
        findings: list[Finding] = []
        error: str | None = None
        reachable = True
        try:
            findings = CHECKS[check](self.connection(system), settings)
        except IbmiError as failure:
            error = str(failure)
            reachable = not isinstance(failure, ConnectionFailedError | DriverMissingError)
            log.warning("%s/%s failed: %s", settings.name, check, error)
        duration = time.monotonic() - clock
        outcome = "error" if error else ("findings" if findings else "ok")
        if not error:
            log.info("%s/%s: %d finding(s) in %.1fs", settings.name, check, len(findings), duration)
        record_run(
            self.storage,
            CheckRun(settings.name, check, started, duration, outcome, len(findings), error),
        )
        record_reachability(self.storage, settings.name, reachable, error if not reachable else None, started)
        return findings, error

    def run_cycle(self, system: str | None = None) -> CycleResult:
        """Every enabled check on every system (or one). One failing system never stops the others."""
        systems = [self.config.system(system).name] if system else self.system_names()
        findings: list[Finding] = []
        errors: dict[str, str] = {}
        for name in systems:
            for check in self.enabled_checks():
                found, error = self.run_check(name, check)
                findings.extend(found)
                if error:
                    errors[f"{name}/{check}"] = error
        return CycleResult(tuple(findings), errors)

    def system_statuses(self) -> list[SystemStatus]:
        runs = last_run_per_system(self.storage)
        reach = reachability(self.storage)
        statuses = []
        for settings in self.config.systems:
            run = runs.get(settings.name)
            reachable, error, _ = reach.get(settings.name, (None, None, None))
            statuses.append(
                SystemStatus(
                    name=settings.name,
                    connection_kind="demo" if settings.is_demo else "odbc",
                    reachable=reachable,
                    error=error,
                    last_check_at=run.started_at if run else None,
                    last_check=run.check if run else None,
                    last_duration=run.duration if run else None,
                    last_result=run.summary if run else None,
                )
            )
        return statuses

    def netstat(self, system: str, port: int | None = None) -> NetstatReport:
        settings = self.config.system(system)
        try:
            rows = sql.read_tcp_connections(self.connection(settings.name))
        except IbmiError as error:
            if isinstance(error, ConnectionFailedError | DriverMissingError):
                record_reachability(self.storage, settings.name, False, str(error), datetime.now(UTC))
            return NetstatReport(settings.name, (), port, note=f"NETSTAT not readable: {error}")
        record_reachability(self.storage, settings.name, True, None, datetime.now(UTC))
        trusted = TrustList(settings.trusted)
        entries = []
        for row in rows:
            address = row.remote_ip
            if row.is_listening or row.remote_port == 0 or address is None:
                continue
            if port is not None and port not in (row.local_port, row.remote_port):
                continue
            entries.append(
                NetstatEntry(
                    remote_address=address.compressed,
                    remote_port=row.remote_port,
                    local_address=row.local_address,
                    local_port=row.local_port,
                    local_port_name=row.local_port_name,
                    tcp_state=row.tcp_state,
                    idle_time=row.idle_time,
                    trusted=is_local(address) or address in trusted,
                    loopback=is_local(address),
                )
            )
        entries.sort(key=lambda e: (e.trusted, e.local_port, e.remote_address, e.remote_port))
        note = None
        if not any(r.is_listening for r in rows):
            note = "NETSTAT shows no listening sockets: the bot's profile may not see every connection"
        return NetstatReport(settings.name, tuple(entries), port, note)

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
