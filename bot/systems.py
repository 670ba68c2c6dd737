"""The configured IBM i systems: one connection each, the networks trusted on each (the configuration's and
those trusted by approval), what `status` and `netstat` report about them, and those reports' value types."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from bot.config import Config, SystemSettings
from bot.health import sickness_of
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.errors import IbmiError
from bot.ibmi_settings import open_system
from bot.net import TrustList, is_local
from storage import Storage
from storage.approvals import trusted_networks
from storage.check_runs import (
    CONNECTION_SICKNESSES,
    HEALTHY,
    last_run_per_system,
    last_runs,
    reachability,
    record_answered,
    record_health,
)


@dataclass(frozen=True)
class CheckStatus:
    check: str
    at: datetime
    duration: float  # seconds
    result: str  # e.g. "2 findings", "no findings", "error: …"
    lateness: float | None = None  # seconds the run started after its due time (None: run by hand)


@dataclass(frozen=True)
class SystemStatus:
    name: str
    connection_kind: str  # "demo" or "odbc"
    reachable: bool | None  # None = not contacted yet; False: unreachable or hung
    error: str | None  # what is wrong, when sick: the last error and the fix
    last_check_at: datetime | None
    last_check: str | None  # check id of the last run
    last_duration: float | None  # seconds
    last_result: str | None  # e.g. "2 findings", "no findings", "error: …"
    checks: tuple[CheckStatus, ...] = ()  # the last run of each check, by check id
    health: str | None = None  # one of storage.check_runs.HEALTH_STATES; None = not contacted yet
    health_since: datetime | None = None  # when it entered that state

    @property
    def state(self) -> str | None:
        """healthy, unreachable, hung, erroring or not authorised; None when not contacted yet."""
        if self.health is not None:
            return self.health
        return None if self.reachable is None else (HEALTHY if self.reachable else "unreachable")

    @property
    def sick(self) -> bool:
        return self.state not in (None, HEALTHY)


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


class Systems:
    """One connection per configured system, opened lazily by its driver; closed together."""

    def __init__(self, config: Config, storage: Storage, env: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.storage = storage
        self._connections = {s.name: open_system(s, env) for s in config.systems}

    def names(self) -> list[str]:
        return [s.name for s in self.config.systems]

    def connection(self, system: str) -> SystemConnection:
        return self._connections[self.config.system(system).name]

    def effective(self, settings: SystemSettings) -> SystemSettings:
        """The system's settings with the networks trusted by approval added to `trusted`."""
        approved = tuple(ipaddress.ip_network(n) for n in trusted_networks(self.storage, settings.name))
        return replace(settings, trusted=settings.trusted + approved) if approved else settings

    def statuses(self) -> list[SystemStatus]:
        runs = last_run_per_system(self.storage)
        per_check = last_runs(self.storage)
        reach = reachability(self.storage)
        statuses = []
        for settings in self.config.systems:
            run = runs.get(settings.name)
            known = reach.get(settings.name)
            statuses.append(
                SystemStatus(
                    name=settings.name,
                    connection_kind="demo" if settings.is_demo else "odbc",
                    reachable=known.reachable if known else None,
                    error=known.error if known else None,
                    last_check_at=run.started_at if run else None,
                    last_check=run.check if run else None,
                    last_duration=run.duration if run else None,
                    last_result=run.summary if run else None,
                    checks=tuple(
                        CheckStatus(r.check, r.started_at, r.duration, r.summary, r.lateness)
                        for (system, _), r in sorted(per_check.items())
                        if system == settings.name
                    ),
                    health=known.state if known else None,
                    health_since=known.since if known else None,
                )
            )
        return statuses

    def netstat(self, system: str, port: int | None = None) -> NetstatReport:
        settings = self.config.system(system)
        try:
            rows = sql.read_tcp_connections(self.connection(settings.name))
        except IbmiError as error:
            sickness = sickness_of(settings.name, error)
            if sickness.kind in CONNECTION_SICKNESSES:  # erroring and not authorised are the checks' to judge
                record_health(self.storage, settings.name, sickness.kind, sickness.detail, datetime.now(UTC))
            return NetstatReport(settings.name, (), port, note=f"NETSTAT not readable: {error}")
        record_answered(self.storage, settings.name, datetime.now(UTC))
        trusted = TrustList(self.effective(settings).trusted)
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

    def abandon_calls(self) -> None:
        """The bot is stopping: every call waiting for IBM i gives up now, and no new one waits."""
        for connection in self._connections.values():
            connection.abandon()

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
