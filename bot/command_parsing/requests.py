"""What a command asks for: one request class per kind of request, each checking its values when constructed
(ValueError for a value that could not come from the parser), and `ParsedCommand`, which carries one.

Change requests carry `action`, the name of their approval policy (end-connection, smtp-add, smtp-remove,
smtp-restart, relay-set, trust, untrust); `ClRequest.to_cl()` is the exact CL command. ibmi-warden never requests
an open relay: `relay set all` and an *ACCEPT entry with mask 0.0.0.0 are refused.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import ClassVar

from bot.command_parsing.addresses import IPAddress, Network, _check_address, _check_network
from bot.command_parsing.reasons import MAX_SILENCE, MIN_SILENCE, _check_reason
from bot.ibmi.cl import AddSmtpListEntry, ChangeSmtpRelay, EndTcpServer, RemoveSmtpListEntry, StartTcpServer

DEFAULT_AUDIT_COUNT = 10
MAX_AUDIT_COUNT = 100
SILENCE_KINDS = ("address", "fingerprint")
SMTP_LIST_TYPES = ("*ACCEPT", "*REJECT")
RELAY_CHOICES = ("none", "list", "near", "both", "all")  # all: an open relay, a dangerous change

_FINGERPRINT = re.compile(r"[0-9a-f]{16}")
_ANY_CASE_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{16}")


@dataclass(frozen=True)
class TraceRequest:
    """`trace IP`: who owns the address."""

    address: IPAddress

    def __post_init__(self) -> None:
        _check_address(self.address)


@dataclass(frozen=True)
class EndRequest:
    """`end IP [PORT] [--local ADDRESS] [REASON]`: end the TCP connections whose remote address is `address`,
    when `port` is given whose local or remote port is `port`, and when `local_address` is given whose local
    address is that one. The ENDTCPCNN commands are built from the matching NETSTAT rows. Loopback is refused.
    """

    address: IPAddress
    port: int | None = None
    reason: str = ""
    local_address: IPAddress | None = None
    action: ClassVar[str] = "end-connection"

    def __post_init__(self) -> None:
        _check_address(self.address)
        if self.address.is_unspecified:
            raise ValueError("the unspecified address is no connection's remote address")
        if self.address.is_loopback:
            raise ValueError("loopback connections are the system's own; they are not ended")
        if self.local_address is not None:
            _check_address(self.local_address)
        if self.port is not None and (type(self.port) is not int or not 1 <= self.port <= 65535):
            raise ValueError(f"port {self.port!r} is not a whole number from 1 to 65535")
        _check_reason(self.reason)


@dataclass(frozen=True)
class SmtpListRequest:
    """`smtp list [accept|reject]`: show one SMTP list ("*ACCEPT" or "*REJECT"), or both when None."""

    list_type: str | None = None

    def __post_init__(self) -> None:
        if self.list_type is not None and self.list_type not in SMTP_LIST_TYPES:
            raise ValueError(f"list type {self.list_type!r} is not one of {SMTP_LIST_TYPES}")


@dataclass(frozen=True)
class SmtpAddFormRequest:
    """`smtp add` with nothing after it: open the modal that asks for the entry."""


@dataclass(frozen=True)
class ClRequest:
    """A change that is one CL command: `smtp add|remove …` (ADDSMTPLE / RMVSMTPLE) or `relay set …` (CHGSMTPA)."""

    command: AddSmtpListEntry | RemoveSmtpListEntry | ChangeSmtpRelay
    reason: str = ""

    def __post_init__(self) -> None:
        if type(self.command) not in (AddSmtpListEntry, RemoveSmtpListEntry, ChangeSmtpRelay):
            raise ValueError(f"{type(self.command).__name__} is not a command this module requests")
        if _opens_the_relay(self.command):
            raise ValueError("ibmi-warden does not request an open relay (an *ACCEPT entry with mask 0.0.0.0)")
        _check_reason(self.reason)

    @property
    def action(self) -> str:
        """The approval policy that decides it: smtp-add, smtp-remove or relay-set."""
        if isinstance(self.command, AddSmtpListEntry):
            return "smtp-add"
        if isinstance(self.command, RemoveSmtpListEntry):
            return "smtp-remove"
        return "relay-set"

    def to_cl(self) -> str:
        return self.command.to_cl()


@dataclass(frozen=True)
class SmtpRestartRequest:
    """`smtp restart [REASON]`: end and start the SMTP server, so that approved list changes take effect."""

    reason: str = ""
    action: ClassVar[str] = "smtp-restart"

    def __post_init__(self) -> None:
        _check_reason(self.reason)

    @property
    def commands(self) -> tuple[EndTcpServer, StartTcpServer]:
        return EndTcpServer.build(), StartTcpServer.build()


@dataclass(frozen=True)
class TrustRequest:
    """`trust IP|CIDR [REASON]`: add a network (a single address is a /32 or /128) to the trust list."""

    network: Network
    reason: str = ""
    action: ClassVar[str] = "trust"

    def __post_init__(self) -> None:
        _check_network(self.network)
        _check_reason(self.reason)


@dataclass(frozen=True)
class UntrustRequest:
    """`untrust IP|CIDR [REASON]`: remove a network (a single address is a /32 or /128) from the trust list."""

    network: Network
    reason: str = ""
    action: ClassVar[str] = "untrust"

    def __post_init__(self) -> None:
        _check_network(self.network)
        _check_reason(self.reason)


@dataclass(frozen=True)
class SilenceRequest:
    """`silence IP|FINGERPRINT DURATION [REASON]`: no alerts about the target for `seconds` (60 to 30 days).

    kind is "address" (target: the address as str() gives it) or "fingerprint" (target: 16 lowercase hex
    characters), as `storage.alerts.add_silence` takes its matcher.
    """

    kind: str
    target: str
    seconds: float
    reason: str = ""

    def __post_init__(self) -> None:
        _check_target(self.kind, self.target)
        if type(self.seconds) is not float or not MIN_SILENCE <= self.seconds <= MAX_SILENCE:
            raise ValueError(f"{self.seconds!r} seconds is not a float from {MIN_SILENCE} to {MAX_SILENCE}")
        _check_reason(self.reason)


@dataclass(frozen=True)
class UnsilenceRequest:
    """`unsilence IP|FINGERPRINT`: end the silences of the target (kind and target as in SilenceRequest)."""

    kind: str
    target: str

    def __post_init__(self) -> None:
        _check_target(self.kind, self.target)


@dataclass(frozen=True)
class AuditRequest:
    """`audit [N]`: the last `count` audit events."""

    count: int = DEFAULT_AUDIT_COUNT

    def __post_init__(self) -> None:
        if type(self.count) is not int or not 1 <= self.count <= MAX_AUDIT_COUNT:
            raise ValueError(f"count {self.count!r} is not a whole number from 1 to {MAX_AUDIT_COUNT}")


Request = (
    TraceRequest
    | EndRequest
    | SmtpListRequest
    | SmtpAddFormRequest
    | ClRequest
    | SmtpRestartRequest
    | TrustRequest
    | UntrustRequest
    | SilenceRequest
    | UnsilenceRequest
    | AuditRequest
)


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    system: str | None = None  # canonical system name, when one was chosen
    port: int | None = None  # netstat --port
    arguments: tuple[str, ...] = field(default_factory=tuple)  # kept for compatibility; always empty
    request: Request | None = None  # what the sub-command asks for (see bot.command_parsing)


def _opens_the_relay(command: object) -> bool:
    """An *ACCEPT entry with mask 0.0.0.0 lets every address relay, as ALWRLY(*ALL) does."""
    return isinstance(command, AddSmtpListEntry) and command.list_type == "*ACCEPT" and int(command.mask) == 0


def _check_target(kind: object, target: object) -> None:
    if kind == "fingerprint":
        if not (isinstance(target, str) and _FINGERPRINT.fullmatch(target)):
            raise ValueError(f"{target!r} is not 16 lowercase hex characters")
    elif kind == "address":
        if not isinstance(target, str):
            raise ValueError(f"{target!r} is not text")
        address = ipaddress.ip_address(target)
        _check_address(address)
        if str(address) != target:
            raise ValueError(f"{target!r} is not written as {address}")
    else:
        raise ValueError(f"silence kind {kind!r} is not one of {SILENCE_KINDS}")
