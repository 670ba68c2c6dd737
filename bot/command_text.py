"""Parsing the text of `/ibmi …`: which sub-command, which system, which validated values — or what was wrong.

Nothing unvalidated leaves this module. `parse_command_text` returns a `ParsedCommand` whose `request` holds
the sub-command's values as parsed objects (addresses from `ipaddress`, CL commands built by `bot.ibmi.cl`,
whole numbers, checked reasons), or raises `UsageError` with a problem fit to show the user and the right
form. The request classes check their values again when constructed, so a request made by hand is held
to the same rules.

What each sub-command gives as `request`:

- help, status, approvals: None; netstat: None, with `system` and `port` on the ParsedCommand
- trace IP: `TraceRequest(address)`
- end IP [PORT] [REASON]: `EndRequest(address, port or None, reason)`
- smtp list [accept|reject]: `SmtpListRequest(list_type)`, "*ACCEPT", "*REJECT" or None for both
- smtp add (nothing more): `SmtpAddFormRequest()`, open the modal
- smtp add|remove accept|reject IP [MASK] [REASON]: `ClRequest(AddSmtpListEntry or RemoveSmtpListEntry, reason)`
- relay set none|list|near|both [REASON]: `ClRequest(ChangeSmtpRelay, reason)`
- trust IP|CIDR [REASON] / untrust IP|CIDR [REASON]: `TrustRequest(network, reason)` / `UntrustRequest(…)`
- silence IP|FINGERPRINT DURATION [REASON]: `SilenceRequest(kind, target, seconds, reason)`
- unsilence IP|FINGERPRINT: `UnsilenceRequest(kind, target)`
- audit [N]: `AuditRequest(count)`, 10 by default

Change requests carry `action`, the name of their approval policy (end-connection, smtp-add, smtp-remove,
relay-set, trust, untrust); `ClRequest.to_cl()` is the exact CL command.

A reason is "" when none was given: whether one is required is the approval policy's decision.
IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are unwrapped to IPv4 for trace, end and silence, as NETSTAT rows
are (`bot.ibmi.rows.parse_address`); a trusted network must be given in its IPv4 form.

ibmi-warden never requests an open relay: `relay set all` and an *ACCEPT entry with mask 0.0.0.0 are refused.

Words are split as a shell splits them, so "quoted words" stay together; an apostrophe between letters
(vendor's) and a backslash are plain characters, and text whose quotes do not pair is split at whitespace.
`@NAME` chooses a system only when NAME is a configured one (any case); otherwise it is text ("ask @bob").
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import unicodedata
from dataclasses import dataclass, field
from typing import ClassVar

from bot.config import DURATION_FORM, parse_duration
from bot.ibmi.cl import AddSmtpListEntry, ChangeSmtpRelay, CLValidationError, RemoveSmtpListEntry
from bot.net import AddressProblem, parse_typed_address, parse_typed_network, plain_address, unmapped

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SmtpListCommand = AddSmtpListEntry | RemoveSmtpListEntry


@dataclass(frozen=True)
class SubCommand:
    name: str
    usage: str  # after the slash command, e.g. "netstat [SYSTEM] [--port N]"
    example: str
    summary: str
    available: bool = True


_SMTP_LIST_USAGE = "smtp list [accept|reject]"
_SMTP_ADD_USAGE = "smtp add [accept|reject IP [MASK] REASON]"
_SMTP_REMOVE_USAGE = "smtp remove accept|reject IP [MASK] [REASON]"

SUB_COMMANDS = (
    SubCommand("help", "help", "help", "this list"),
    SubCommand("status", "status", "status", "each system: reachable or the error, and its last check"),
    SubCommand(
        "netstat", "netstat [SYSTEM] [--port N]", "netstat PROD --port 23", "remote connections, untrusted first"
    ),
    SubCommand("trace", "trace IP", "trace 203.0.113.7", "who owns an address (RDAP)"),
    SubCommand(
        "end",
        "end IP [PORT] [REASON]",
        "end 203.0.113.7 23 unknown telnet session",
        "request ENDTCPCNN for the address's connections (on PORT, local or remote)",
    ),
    SubCommand(
        "smtp",
        "smtp list [accept|reject] | add [accept|reject IP [MASK] REASON] | remove accept|reject IP [MASK] [REASON]",
        "smtp add accept 10.1.1.0 255.255.255.0 branch office",
        "show the SMTP lists; request ADDSMTPLE / RMVSMTPLE (MASK: 255.255.255.0 or /24)",
    ),
    SubCommand(
        "relay",
        "relay set none|list|near|both REASON",
        "relay set list close the open relay",
        "request CHGSMTPA ALWRLY",
    ),
    SubCommand("trust", "trust IP|CIDR REASON", "trust 198.51.100.0/24 vendor VPN", "request adding to the trust list"),
    SubCommand(
        "untrust",
        "untrust IP|CIDR [REASON]",
        "untrust 198.51.100.0/24 contract ended",
        "request removal from the trust list",
    ),
    SubCommand(
        "silence",
        "silence IP|FINGERPRINT DURATION REASON",
        "silence 203.0.113.7 4h vendor test",
        "stop alerts for a while (1m to 30d)",
    ),
    SubCommand("unsilence", "unsilence IP|FINGERPRINT", "unsilence 203.0.113.7", "end a silence"),
    SubCommand("approvals", "approvals", "approvals", "pending change requests"),
    SubCommand("audit", "audit [N]", "audit 20", "recent audit events (N from 1 to 100, 10 by default)"),
)
_BY_NAME = {sub.name: sub for sub in SUB_COMMANDS}
_MAX_TEXT = 2000

MAX_REASON = 500
MIN_SILENCE = 60.0
MAX_SILENCE = 30 * 86400.0
DEFAULT_AUDIT_COUNT = 10
MAX_AUDIT_COUNT = 100
SILENCE_KINDS = ("address", "fingerprint")
SMTP_LIST_TYPES = ("*ACCEPT", "*REJECT")
RELAY_CHOICES = ("none", "list", "near", "both")  # *ALL is refused: it makes an open relay

_FINGERPRINT = re.compile(r"[0-9a-f]{16}")
_ANY_CASE_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{16}")
_ADDRESS_CHARACTERS = re.compile(r"[0-9A-Fa-f.:]+")
_HOST_NAME = re.compile(r"(?=[A-Za-z0-9.-]*[A-Za-z])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?")
_DURATION_WORD = re.compile(r"[0-9.dhms]{1,32}")
_ADDRESS_EXPECTED = "an IPv4 address such as 203.0.113.7 or an IPv6 address such as 2001:db8::7"
_NETWORK_EXPECTED = "an address such as 198.51.100.7 or a network such as 198.51.100.0/24"
_TARGET_EXPECTED = "an IP address such as 203.0.113.7, or an alert fingerprint (16 lowercase hex characters)"
_MAPPED_V6 = ipaddress.IPv6Network("::ffff:0:0/96")


class UsageError(ValueError):
    """What was wrong with the command, and the right form."""

    def __init__(self, problem: str, usage: str | None = None):
        self.problem = problem
        self.usage = usage
        super().__init__(problem)


# --- what a command asks for ---------------------------------------------------------------------------------
# Each request checks its values when constructed (ValueError for a value that could not come from the parser).


@dataclass(frozen=True)
class TraceRequest:
    """`trace IP`: who owns the address."""

    address: IPAddress

    def __post_init__(self) -> None:
        _check_address(self.address)


@dataclass(frozen=True)
class EndRequest:
    """`end IP [PORT] [REASON]`: end the TCP connections whose remote address is `address` and, when `port` is
    given, whose local or remote port is `port`. The ENDTCPCNN commands are built from the matching NETSTAT rows.
    """

    address: IPAddress
    port: int | None = None
    reason: str = ""
    action: ClassVar[str] = "end-connection"

    def __post_init__(self) -> None:
        _check_address(self.address)
        if self.address.is_unspecified:
            raise ValueError("the unspecified address is no connection's remote address")
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
        if isinstance(self.command, ChangeSmtpRelay) and self.command.allow_relay == "*ALL":
            raise ValueError("ibmi-warden does not request an open relay (ALWRLY(*ALL))")
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
    request: Request | None = None  # what the sub-command asks for (see the module docstring)


def usage_of(name: str, slash: str) -> str:
    return f"{slash} {_BY_NAME[name].usage}"


def parse_command_text(text: str, systems: list[str], slash: str = "/ibmi") -> ParsedCommand:
    """Raises UsageError with a message fit for the user when the text is not a valid command."""
    if len(text) > _MAX_TEXT:
        raise UsageError(
            f"That command is {len(text)} characters long; the limit is {_MAX_TEXT}.",
            _usage_for_first_word(text, slash),
        )
    words, note = _split(text)
    if not words:
        return ParsedCommand("help")
    try:
        parsed = _parse_words(words, systems, slash)
    except UsageError as error:
        if note is None:
            raise
        raise UsageError(f"{error.problem} ({note})", error.usage) from None
    # Whitespace splitting would quietly turn a line break into a space, even inside a reason.
    if any(unicodedata.category(c) == "Cc" for c in text.strip()):
        raise UsageError(
            "The command contains a line break or another control character; write it on one line.",
            usage_of(parsed.name, slash),
        )
    return parsed


# --- words -----------------------------------------------------------------------------------------------------

_APOSTROPHE_IN_WORD = re.compile(r"(?<=\w)'(?=\w)")
_APOSTROPHE_STAND_IN, _BACKSLASH_STAND_IN = "\ue000", "\ue001"  # private use: never printable input


def _split(text: str) -> tuple[list[str], str | None]:
    """The words of the text, and a note for the user when its quotes could not be paired.

    As shlex splits them, except that an apostrophe between letters and a backslash (but a trailing one) are
    plain characters, and that spaces around a quoted word are dropped, and empty words with them. When shlex
    cannot split the text, it is split at whitespace with every quote kept.
    """
    protected = text
    if _APOSTROPHE_STAND_IN not in text and _BACKSLASH_STAND_IN not in text:
        protected = _APOSTROPHE_IN_WORD.sub(_APOSTROPHE_STAND_IN, text)
        protected = protected[:-1].replace("\\", _BACKSLASH_STAND_IN) + protected[-1:]
    try:
        words = shlex.split(protected)
    except ValueError as error:
        note = (
            "The command ends with a lone backslash, taken as a plain character."
            if "escaped" in str(error)
            else "Unbalanced quotes in the command were taken as plain characters."
        )
        return text.split(), note
    words = [w.replace(_APOSTROPHE_STAND_IN, "'").replace(_BACKSLASH_STAND_IN, "\\").strip(" ") for w in words]
    return [word for word in words if word], None


def _parse_words(words: list[str], systems: list[str], slash: str) -> ParsedCommand:
    name, rest = words[0].lower(), words[1:]
    sub = _BY_NAME.get(name)
    if sub is None:
        known = ", ".join(s.name for s in SUB_COMMANDS)
        raise UsageError(f"`{_shorten(words[0])}` is not a sub-command. Sub-commands: {known}.", f"{slash} help")
    usage = usage_of(name, slash)
    system, rest = _take_system(rest, systems, usage)
    if name in ("help", "status", "approvals"):
        _no_more(name, rest, 0, systems, usage)
        return ParsedCommand(name, system)
    if name == "netstat":
        return _parse_netstat(rest, system, systems, usage)
    parser = _PARSERS[name]
    return ParsedCommand(name, system, request=parser(_Arguments(name, rest, usage, slash, systems)))


@dataclass
class _Arguments:
    """The words after the sub-command (system selectors taken out), read left to right."""

    name: str
    words: list[str]
    usage: str
    slash: str
    systems: list[str]
    position: int = 0

    def next(self, what: str) -> str:
        """The next word, which must be there; an unknown @SYSTEM in its place is reported as one."""
        if self.position >= len(self.words):
            raise UsageError(f"`{self.name}` needs {what}.", self.usage)
        word = self.words[self.position]
        _reject_selector(word, self.systems, self.usage)
        self.position += 1
        return word

    def peek(self) -> str | None:
        return self.words[self.position] if self.position < len(self.words) else None

    def reason(self) -> str:
        reason = _reason(self.words[self.position :], self.usage)
        self.position = len(self.words)
        return reason

    def end(self) -> None:
        _no_more(self.name, self.words, self.position, self.systems, self.usage)


def _no_more(name: str, words: list[str], position: int, systems: list[str], usage: str) -> None:
    extra = words[position:]
    if not extra:
        return
    _reject_selector(extra[0], systems, usage)
    if position == 0:
        raise UsageError(f"`{name}` takes no arguments (got `{_shorten(' '.join(extra))}`).", usage)
    raise UsageError(f"Too many arguments: `{_shorten(' '.join(extra))}`.", usage)


def _reject_selector(word: str, systems: list[str], usage: str) -> None:
    """An @SYSTEM where a value belongs: configured systems were taken out already, so this one is unknown."""
    if word.startswith("@"):
        if word == "@":
            raise UsageError("`@` needs a system name.", usage)
        raise UsageError(_unknown_system(word[1:], systems), usage)


def _parse_netstat(rest: list[str], system: str | None, systems: list[str], usage: str) -> ParsedCommand:
    port = None
    positional: list[str] = []
    words = iter(rest)
    for word in words:
        if word in ("--port", "-p") or word.startswith("--port="):
            if port is not None:
                raise UsageError("Give the port once.", usage)
            value = word.split("=", 1)[1] if "=" in word else next(words, "")
            port = _port(value, usage)
        elif word.startswith("-"):
            raise UsageError(f"Unknown option `{_shorten(word)}`.", usage)
        else:
            positional.append(word)
    if len(positional) > 1:
        raise UsageError(f"Too many arguments: `{_shorten(' '.join(positional))}`.", usage)
    if positional:
        _reject_selector(positional[0], systems, usage)
        if system is not None:
            raise UsageError("Name the system once.", usage)
        system = _system(positional[0], systems, usage)
    return ParsedCommand("netstat", system, port)


def _take_system(words: list[str], systems: list[str], usage: str) -> tuple[str | None, list[str]]:
    """Takes out `--system NAME`, `--system=NAME` and `@NAME` when NAME is configured; other @words stay."""
    system = None
    rest: list[str] = []
    iterator = iter(words)
    for word in iterator:
        if word.startswith("@") and _find_system(word[1:], systems) is not None:
            chosen = word[1:]
        elif word == "--system":
            chosen = next(iterator, "")
        elif word.startswith("--system="):
            chosen = word.split("=", 1)[1]
        else:
            rest.append(word)
            continue
        if not chosen:
            raise UsageError(f"`{_shorten(word)}` needs a system name.", usage)
        if system is not None:
            raise UsageError("Name the system once.", usage)
        system = _system(chosen, systems, usage)
    return system, rest


def _find_system(name: str, systems: list[str]) -> str | None:
    for system in systems:
        if system.casefold() == name.casefold():
            return system
    return None


def _system(name: str, systems: list[str], usage: str) -> str:
    found = _find_system(name, systems)
    if found is None:
        raise UsageError(_unknown_system(name, systems), usage)
    return found


def _unknown_system(name: str, systems: list[str]) -> str:
    configured = f"Configured systems: {', '.join(systems)}." if systems else "No systems are configured."
    return f"Unknown system `{_shorten(name)}`. {configured}"


# --- the sub-commands ------------------------------------------------------------------------------------------


def _parse_trace(args: _Arguments) -> TraceRequest:
    address = _address(args.next("an IP address"), args.usage)
    args.end()
    return TraceRequest(_unmapped(address))


def _parse_end(args: _Arguments) -> EndRequest:
    address = _unmapped(_address(args.next("the remote IP address"), args.usage))
    if address.is_unspecified:
        raise UsageError(f"`{address}` is the unspecified address, not the remote address of a connection.", args.usage)
    port = None
    after = args.peek()
    if after is not None and _starts_like_a_number(after):
        port = _port(args.next("a port"), args.usage)
    return EndRequest(address, port, args.reason())


def _parse_smtp(args: _Arguments) -> SmtpListRequest | SmtpAddFormRequest | ClRequest:
    action = args.next("list, add or remove").lower()
    slash = args.slash
    if action in ("list", "add", "remove"):
        args.name = f"smtp {action}"
    if action == "list":
        args.usage = f"{slash} {_SMTP_LIST_USAGE}"
        word = args.peek()
        list_type = None if word is None else _list_type(args.next("a list type"), args.usage)
        args.end()
        return SmtpListRequest(list_type)
    if action == "add":
        args.usage = f"{slash} {_SMTP_ADD_USAGE}"
        if args.peek() is None:
            return SmtpAddFormRequest()
        return _smtp_entry(args, AddSmtpListEntry)
    if action == "remove":
        args.usage = f"{slash} {_SMTP_REMOVE_USAGE}"
        return _smtp_entry(args, RemoveSmtpListEntry)
    raise UsageError(f"`smtp {_shorten(action)}`: expected `smtp list`, `smtp add` or `smtp remove`.", args.usage)


def _smtp_entry(args: _Arguments, command: type[SmtpListCommand]) -> ClRequest:
    list_type = _list_type(args.next("accept or reject"), args.usage)
    address_word = args.next("an IPv4 address")
    mask_word: str | None = None
    if "/" in address_word:  # 10.1.1.0/24: the address and its mask in one word
        address_word, _, after = address_word.partition("/")
        mask_word = after if "." in after else "/" + after
    after = args.peek()
    if after is not None and _looks_like_a_mask(after):
        if mask_word is not None:
            raise UsageError(f"Give the mask once (got `{_shorten(mask_word)}` and `{_shorten(after)}`).", args.usage)
        mask_word = args.next("a mask")
    for word in (address_word, mask_word):
        if word is not None:
            _printable_word(word, args.usage)
    try:
        entry = command.build(list_type, address_word, mask_word)
    except CLValidationError as error:
        raise UsageError(_cl_problem(error), args.usage) from None
    if _opens_the_relay(entry):
        raise UsageError(
            f"ibmi-warden will not request an *ACCEPT entry with mask {entry.mask} (/0): it lets every "
            "address relay mail through the system. Give the network's own mask, such as /24.",
            args.usage,
        )
    return ClRequest(entry, args.reason())


def _opens_the_relay(command: object) -> bool:
    """An *ACCEPT entry with mask 0.0.0.0 lets every address relay, as ALWRLY(*ALL) does."""
    return isinstance(command, AddSmtpListEntry) and command.list_type == "*ACCEPT" and int(command.mask) == 0


def _parse_relay(args: _Arguments) -> ClRequest:
    verb = args.next("`set` and one of none, list, near or both")
    if verb.lower() != "set":
        raise UsageError(
            f"`relay {_shorten(verb)}`: expected `relay set` and one of none, list, near or both.", args.usage
        )
    args.name = "relay set"
    word = args.next("one of none, list, near or both")
    _printable_word(word, args.usage)
    value = word.lower().removeprefix("*")
    accepted = "Accepted: none (no relaying), list (the *ACCEPT list), near, or both."
    if value == "all":
        raise UsageError(
            f"ibmi-warden will not request an open relay: *ALL lets anyone relay mail through the system. {accepted}",
            args.usage,
        )
    if value not in RELAY_CHOICES:
        raise UsageError(f"`{_shorten(word)}` is not a relay setting. {accepted}", args.usage)
    return ClRequest(ChangeSmtpRelay.build(value), args.reason())


def _parse_trust(args: _Arguments) -> TrustRequest:
    return TrustRequest(_network(args.next("an IP address or network"), args.usage), args.reason())


def _parse_untrust(args: _Arguments) -> UntrustRequest:
    return UntrustRequest(_network(args.next("an IP address or network"), args.usage), args.reason())


def _parse_silence(args: _Arguments) -> SilenceRequest:
    kind, target = _silence_target(args.next("an IP address or an alert fingerprint"), args.usage)
    seconds = _duration(args.next(f"a duration from 1m to 30d, {DURATION_FORM}"), args.usage)
    return SilenceRequest(kind, target, seconds, args.reason())


def _parse_unsilence(args: _Arguments) -> UnsilenceRequest:
    kind, target = _silence_target(args.next("an IP address or an alert fingerprint"), args.usage)
    args.end()
    return UnsilenceRequest(kind, target)


def _parse_audit(args: _Arguments) -> AuditRequest:
    count = DEFAULT_AUDIT_COUNT
    if args.peek() is not None:
        word = args.next("a number")
        if not (word.isascii() and word.isdigit() and len(word) <= 3 and 1 <= int(word) <= MAX_AUDIT_COUNT):
            raise UsageError(
                f"`{_shorten(word)}` is not a number of events; expected 1 to {MAX_AUDIT_COUNT}.", args.usage
            )
        count = int(word)
    args.end()
    return AuditRequest(count)


_PARSERS = {
    "trace": _parse_trace,
    "end": _parse_end,
    "smtp": _parse_smtp,
    "relay": _parse_relay,
    "trust": _parse_trust,
    "untrust": _parse_untrust,
    "silence": _parse_silence,
    "unsilence": _parse_unsilence,
    "audit": _parse_audit,
}


# --- values ----------------------------------------------------------------------------------------------------


def _address(word: str, usage: str, expected: str = _ADDRESS_EXPECTED) -> IPAddress:
    """One IP address as bot.net reads what a person types; an IPv4-mapped address comes back as IPv4."""
    try:
        return parse_typed_address(word, expected)
    except AddressProblem as problem:
        raise UsageError(problem.message(lambda text: f"`{_shorten(text)}`"), usage) from None


def _ip(text: str) -> IPAddress | None:
    return plain_address(text)


def _unmapped(address: IPAddress) -> IPAddress:
    return unmapped(address)


def _network(word: str, usage: str) -> Network:
    """A network as the trust list holds it: strict (no host bits), a single address as /32 or /128."""
    try:
        return parse_typed_network(word, _NETWORK_EXPECTED)
    except AddressProblem as problem:
        raise UsageError(problem.message(lambda text: f"`{_shorten(text)}`"), usage) from None


def _silence_target(word: str, usage: str) -> tuple[str, str]:
    if _FINGERPRINT.fullmatch(word):
        return "fingerprint", word
    if _ANY_CASE_FINGERPRINT.fullmatch(word):
        raise UsageError(
            f"`{_shorten(word)}`: alert fingerprints are 16 lowercase hex characters, as shown under "
            f"each alert: {word.lower()}.",
            usage,
        )
    return "address", str(_unmapped(_address(word, usage, _TARGET_EXPECTED)))


def _duration(word: str, usage: str) -> float:
    text = word.lower()
    seconds = None
    if text.isascii() and _DURATION_WORD.fullmatch(text):
        try:
            seconds = parse_duration(text)
        except ValueError:
            pass
    if seconds is None:
        raise UsageError(f"`{_shorten(word)}` is not a duration; expected {DURATION_FORM}.", usage)
    if seconds < MIN_SILENCE:
        raise UsageError(f"`{_shorten(word)}` is too short; a silence lasts at least 1m.", usage)
    if seconds > MAX_SILENCE:
        raise UsageError(f"`{_shorten(word)}` is too long; a silence lasts at most 30d.", usage)
    return float(seconds)


def _list_type(word: str, usage: str) -> str:
    value = "*" + word.upper().removeprefix("*") if word.isascii() else ""
    if value not in SMTP_LIST_TYPES:
        raise UsageError(f"`{_shorten(word)}` is not an SMTP list; expected accept or reject.", usage)
    return value


def _port(text: str, usage: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 5 and 1 <= int(text) <= 65535):
        raise UsageError(f"`{_shorten(text)}` is not a port; expected a number from 1 to 65535.", usage)
    return int(text)


def _starts_like_a_number(word: str) -> bool:
    """True for words meant as numbers, look-alike digits included: "23", "２３", "-1", "23x"."""
    text = unicodedata.normalize("NFKC", word)
    return text[:1].isdigit() or (text[:1] in ("-", "+") and text[1:2].isdigit())


def _looks_like_a_mask(word: str) -> bool:
    """True for words meant as a subnet mask ("255.255.255.0", "/24", look-alikes too); others start a reason."""
    text = unicodedata.normalize("NFKC", word)
    return text.startswith("/") or (text[:1].isdigit() and "." in text)


def _printable_word(word: str, usage: str) -> None:
    """No control or format characters in a value echoed by cl.py (which escapes them, at length)."""
    if not word.isprintable():
        raise UsageError(f"`{_shorten(word)}` contains characters that are not printable text.", usage)


def _cl_problem(error: CLValidationError) -> str:
    return str(error).replace("`", "\\x60") + "."


_REASON_ALLOWED = "give it as one line of plain text"


def _reason(words: list[str], usage: str) -> str:
    reason = " ".join(part for part in " ".join(words).split(" ") if part)
    problem = _reason_problem(reason)
    if problem is not None:
        raise UsageError(problem, usage)
    return reason


def reason_problem(reason: object) -> str | None:
    """What is wrong with a reason (from a command or a form), or None when it is acceptable."""
    return _reason_problem(reason)


def _reason_problem(reason: object) -> str | None:
    if not isinstance(reason, str):
        return "The reason is not text."
    for character in reason:
        if not character.isprintable():
            return (
                f"The reason contains a character that is not printable text (U+{ord(character):04X}); "
                f"{_REASON_ALLOWED}."
            )
    if "`" in reason:
        return "The reason may not contain backticks: they would break the code formatting of Slack messages."
    if len(reason) > MAX_REASON:
        return f"The reason is {len(reason)} characters long; the limit is {MAX_REASON}."
    if reason != reason.strip(" ") or "  " in reason:
        return "The reason has extra spaces."
    return None


def _check_reason(reason: object) -> None:
    problem = _reason_problem(reason)
    if problem is not None:
        raise ValueError(problem)


def _check_network(network: object) -> None:
    if type(network) not in (ipaddress.IPv4Network, ipaddress.IPv6Network):
        raise ValueError(f"{network!r} is not an IPv4Network or IPv6Network")
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED_V6):
        raise ValueError(f"{network} is IPv4-mapped; give the IPv4 network")


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


def _check_address(address: object) -> None:
    if type(address) not in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        raise ValueError(f"{address!r} is not an IPv4Address or IPv6Address")
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    if isinstance(address, ipaddress.IPv6Address) and (address.scope_id or address.ipv4_mapped is not None):
        raise ValueError(f"{address} has a zone id or is IPv4-mapped; give the plain address")


def _usage_for_first_word(text: str, slash: str) -> str:
    """The usage of the sub-command the text starts with, when it names one; else the help command."""
    words = text.split(maxsplit=1)
    first = words[0].lower() if words else ""
    return usage_of(first, slash) if first in _BY_NAME else f"{slash} help"


# Slack sends the command's text with &, < and > already written as entities, so a raw < or > in it is Slack's
# own markup (a mention, a link); echoed as entities it is shown, not acted on. A raw & is left as it is.
_SLACK_ESCAPES = {"<": "&lt;", ">": "&gt;"}


def _shorten(text: str, limit: int = 40) -> str:
    """The user's text made safe to echo inside backticks: one line, no backticks or Slack markup, at most
    `limit` characters as sent (so at most that many shown).
    """
    if not text:
        return "(nothing)"
    pieces = [_SLACK_ESCAPES.get(c, c if c.isprintable() and c != "`" else "?") for c in text]
    if sum(len(piece) for piece in pieces) <= limit:
        return "".join(pieces)
    kept, size = [], 0
    for piece in pieces:
        if size + len(piece) > limit - 1:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + "…"
