"""What the bot reports about systems, shaped for Slack and the CLI: plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class CheckStatus:
    check: str
    at: datetime
    duration: float  # seconds
    result: str  # e.g. "2 findings", "no findings", "error: …"


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
    checks: tuple[CheckStatus, ...] = ()  # the last run of each check, by check id


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
