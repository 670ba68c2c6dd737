"""Typed rows read from IBM i services. Column meanings: docs/ibmi-access.md.

The rows read by the hundred thousand on a large system (connections, their jobs, output queues) are named
tuples, built in a third less time than frozen dataclasses; the others are frozen dataclasses.

Values keep IBM's spelling where IBM's format is unconfirmed (see `normalise_yes_no`), so a
caller can tell "unknown" apart from "no".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from bot.net.address import IPAddress, parse_address


def normalise_yes_no(value: str | None) -> bool | None:
    """'*YES'/'YES' → True, '*NO'/'NO' → False, anything else → None (unknown, never guessed)."""
    if value is None:
        return None
    text = value.strip().lstrip("*").upper()
    if text == "YES":
        return True
    if text == "NO":
        return False
    return None


def normalise_keyword(value: str | None) -> str | None:
    """'*OWNER' or 'OWNER' → 'OWNER'; blank or NULL → None."""
    if value is None:
        return None
    text = value.strip().lstrip("*").upper()
    return text or None


class NetstatConnection(NamedTuple):
    """One row of QSYS2.NETSTAT_INFO."""

    connection_type: str  # IPV4 / IPV6
    remote_address: str
    remote_port: int
    remote_port_name: str | None
    local_address: str
    local_port: int
    local_port_name: str | None
    protocol: str  # TCP / UDP
    tcp_state: str | None  # ESTABLISHED, LISTEN, other spellings kept as they come
    idle_time: Decimal | None  # seconds
    bind_user: str | None
    bytes_sent_remotely: int | None
    bytes_received_locally: int | None

    @property
    def remote_ip(self) -> IPAddress | None:
        return parse_address(self.remote_address)

    @property
    def local_ip(self) -> IPAddress | None:
        return parse_address(self.local_address)

    @property
    def is_established(self) -> bool:
        return (self.tcp_state or "").strip().upper() == "ESTABLISHED"

    @property
    def is_listening(self) -> bool:
        return (self.tcp_state or "").strip().upper() == "LISTEN"

    @property
    def key(self) -> tuple[str, int, str, int]:
        return (self.local_address, self.local_port, self.remote_address, self.remote_port)


class ConnectionJob(NamedTuple):
    """One row of QSYS2.NETSTAT_JOB_INFO: a job using a connection."""

    connection_type: str
    remote_address: str
    remote_port: int
    local_address: str
    local_port: int
    authorization_name: str | None  # effective user profile of the job
    job_name: str | None  # number/user/name

    @property
    def key(self) -> tuple[str, int, str, int]:
        return (self.local_address, self.local_port, self.remote_address, self.remote_port)


@dataclass(frozen=True)
class ActiveJob:
    """A row of the QSYS2.ACTIVE_JOB_INFO table function."""

    job_name: str
    job_status: str | None
    subsystem: str | None
    started_at: datetime | None = None  # JOB_ACTIVE_TIME in UTC; None when not read


@dataclass(frozen=True)
class RelayPolicy:
    """What the bot knows about CHGSMTPA ALWRLY. No documented way to read it was found (reference §0.1).

    `value` is None when unknown; `source` says where a known value came from.
    """

    value: str | None  # *NONE *ALL *LIST *NEAR *BOTH, or None = unknown
    source: str  # "unknown" | "attested in config" | "set by ibmi-warden"
    detail: str = ""


@dataclass(frozen=True)
class SmtpStatus:
    """Is the SMTP server running, and what can be said about relaying."""

    listening_on_25: bool | None  # None = NETSTAT not readable
    server_jobs: tuple[ActiveJob, ...] | None  # None = ACTIVE_JOB_INFO not readable
    relay: RelayPolicy


@dataclass(frozen=True)
class SmtpListEntry:
    """An address/mask pair found in a member of QUSRSYS/QATMADRLST (layout discovered at run time)."""

    member: str  # the file member it came from, e.g. the *ACCEPT list
    address: str
    mask: str | None
    raw: tuple[str, ...] = ()  # the row's character columns as read

    @property
    def network(self) -> ipaddress.IPv4Network | None:
        try:
            return ipaddress.IPv4Network(f"{self.address}/{self.mask or '255.255.255.255'}", strict=False)
        except ValueError:
            return None


@dataclass(frozen=True)
class SmtpListReading:
    """The result of reading the SMTP lists: entries, or why they could not be read."""

    readable: bool
    entries: tuple[SmtpListEntry, ...] = ()
    members: tuple[str, ...] = ()
    problem: str | None = None  # "file not found", "no members", "layout not recognised", …


@dataclass(frozen=True)
class Release:
    """SYSIBMADM.ENV_SYS_INFO's OS_VERSION and OS_RELEASE: "7" and "5" on IBM i 7.5."""

    version: str | None
    release: str | None

    def describe(self) -> str:
        if self.version is None and self.release is None:
            return "unknown"
        return f"IBM i {self.version or '?'}.{self.release or '?'}"


@dataclass(frozen=True)
class PtfGroup:
    """One installed PTF group from QSYS2.GROUP_PTF_INFO, such as the Db2 for i group SF99950 on 7.5."""

    name: str
    level: int | None
    status: str | None

    def describe(self) -> str:
        return f"{self.name} level {self.level}" if self.level is not None else self.name


@dataclass(frozen=True)
class UserProfile:
    """A row of QSYS2.USER_INFO_BASIC plus the groups from QSYS2.GROUP_PROFILE_ENTRIES."""

    name: str
    status: str | None  # *ENABLED / *DISABLED
    special_authorities: frozenset[str]  # e.g. {"*SPLCTL", "*JOBCTL"}
    group_profile: str | None
    text: str | None = None
    previous_signon: str | None = None
    inherited_authorities: dict[str, tuple[str, ...]] = field(default_factory=dict)  # authority → groups

    @property
    def enabled(self) -> bool:
        return (self.status or "").strip().upper().lstrip("*") == "ENABLED"

    def holds(self, authority: str) -> bool:
        return authority in self.special_authorities or authority in self.inherited_authorities


class OutputQueue(NamedTuple):
    """A row of QSYS2.OUTPUT_QUEUE_INFO with the *PUBLIC authority from QSYS2.OBJECT_PRIVILEGES."""

    library: str
    name: str
    number_of_files: int | None
    display_any_file: str | None  # DSPDTA as read (*YES/YES/*NO/*OWNER …)
    operator_controlled: str | None  # OPRCTL as read
    authority_to_check: str | None  # AUTCHK as read
    text: str | None
    public_authority: str | None  # *USE, *CHANGE, *ALL, *EXCLUDE, USER DEF, or None = unknown

    @property
    def qualified_name(self) -> str:
        return f"{self.library}/{self.name}"


@dataclass(frozen=True)
class JobLogMessage:
    """A row of QSYS2.JOBLOG_INFO: one message of the bot's server job, such as the reason a CL command failed."""

    message_id: str | None  # None for an impromptu message
    message_type: str | None  # DIAGNOSTIC, ESCAPE, …
    text: str
    timestamp: str | None = None

    def describe(self) -> str:
        """One line: "CPD0032 (diagnostic): Not authorized to command …"."""
        kind = f" ({self.message_type.lower()})" if self.message_type else ""
        return f"{self.message_id or 'no id'}{kind}: {self.text}"
