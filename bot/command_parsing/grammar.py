"""The grammar of each `/ibmi` sub-command: a `parse_<name>(args)` per sub-command that reads its words into a
validated request (or None), raising `UsageError` with the problem and the right form. The sub-command
declarations in `handlers.commands` name these; CL commands are built here (through `bot.ibmi.cl`), never in a
handler.
"""

from __future__ import annotations

from bot.command_parsing.addresses import _address, _network
from bot.command_parsing.reasons import _duration
from bot.command_parsing.requests import (
    _ANY_CASE_FINGERPRINT,
    _FINGERPRINT,
    DEFAULT_AUDIT_COUNT,
    MAX_AUDIT_COUNT,
    RELAY_CHOICES,
    SMTP_LIST_TYPES,
    AuditRequest,
    ClRequest,
    EndRequest,
    SilenceRequest,
    SmtpAddFormRequest,
    SmtpListRequest,
    SmtpRestartRequest,
    TraceRequest,
    TrustRequest,
    UnsilenceRequest,
    UntrustRequest,
    _opens_the_relay,
)
from bot.command_parsing.usage import UsageError, _shorten
from bot.command_parsing.words import (
    Arguments,
    _looks_like_a_mask,
    _port,
    _printable_word,
    _reject_selector,
    _starts_like_a_number,
    _system,
)
from bot.config import DURATION_FORM
from bot.ibmi.cl import AddSmtpListEntry, ChangeSmtpRelay, CLValidationError, RemoveSmtpListEntry

SmtpListCommand = AddSmtpListEntry | RemoveSmtpListEntry

SMTP_LIST_USAGE = "smtp list [accept|reject]"
SMTP_ADD_USAGE = "smtp add [accept|reject IP [MASK] REASON]"
SMTP_REMOVE_USAGE = "smtp remove accept|reject IP [MASK] [REASON]"
SMTP_RESTART_USAGE = "smtp restart [REASON]"
_TARGET_EXPECTED = "an IP address such as 203.0.113.7, or an alert fingerprint (16 lowercase hex characters)"


def parse_no_arguments(args: Arguments) -> None:
    """help, status, approvals: nothing after the sub-command but a system."""
    args.end()


def parse_netstat(args: Arguments) -> None:
    """`netstat [SYSTEM] [--port N]`: no request; the system and the port are set on `args`."""
    usage, systems = args.usage, args.systems
    port = None
    positional: list[str] = []
    words = iter(args.words)
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
        if args.system is not None:
            raise UsageError("Name the system once.", usage)
        args.system = _system(positional[0], systems, usage)
    args.port = port
    args.position = len(args.words)


def parse_trace(args: Arguments) -> TraceRequest:
    address = _address(args.next("an IP address"), args.usage)
    args.end()
    return TraceRequest(address)


def parse_end(args: Arguments) -> EndRequest:
    """`end IP [PORT] [--local ADDRESS] [REASON]`."""
    address = _address(args.next("the remote IP address"), args.usage)
    if address.is_unspecified:
        raise UsageError(f"`{address}` is the unspecified address, not the remote address of a connection.", args.usage)
    if address.is_loopback:
        raise UsageError(
            f"`{address}` is loopback: its connections are the system talking to itself (the bot's own host "
            "server jobs among them), and ibmi-warden will not end them.",
            args.usage,
        )
    port = None
    after = args.peek()
    if after is not None and _starts_like_a_number(after):
        port = _port(args.next("a port"), args.usage)
    local = None
    if args.peek() in ("--local", "-l"):
        args.next("--local")
        local = _address(args.next("the local IP address after --local"), args.usage)
    return EndRequest(address, port, args.reason(), local)


def parse_smtp(args: Arguments) -> SmtpListRequest | SmtpAddFormRequest | ClRequest | SmtpRestartRequest:
    action = args.next("list, add, remove or restart").lower()
    slash = args.slash
    if action in ("list", "add", "remove", "restart"):
        args.name = f"smtp {action}"
    if action == "list":
        args.usage = f"{slash} {SMTP_LIST_USAGE}"
        word = args.peek()
        list_type = None if word is None else _list_type(args.next("a list type"), args.usage)
        args.end()
        return SmtpListRequest(list_type)
    if action == "add":
        args.usage = f"{slash} {SMTP_ADD_USAGE}"
        if args.peek() is None:
            return SmtpAddFormRequest()
        return _smtp_entry(args, AddSmtpListEntry)
    if action == "remove":
        args.usage = f"{slash} {SMTP_REMOVE_USAGE}"
        return _smtp_entry(args, RemoveSmtpListEntry)
    if action == "restart":
        args.usage = f"{slash} {SMTP_RESTART_USAGE}"
        return SmtpRestartRequest(args.reason())
    raise UsageError(
        f"`smtp {_shorten(action)}`: expected `smtp list`, `smtp add`, `smtp remove` or `smtp restart`.", args.usage
    )


def _smtp_entry(args: Arguments, command: type[SmtpListCommand]) -> ClRequest:
    list_type = _list_type(args.next("accept or reject"), args.usage)
    address_word = args.next("an IPv4 address")
    mask_word: str | None = None
    if "/" in address_word:  # 10.1.1.0/24: the address and its mask in one word
        address_word, _, in_word = address_word.partition("/")
        mask_word = in_word if "." in in_word else "/" + in_word
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


def parse_relay(args: Arguments) -> ClRequest:
    verb = args.next("`set` and one of none, list, near or both")
    if verb.lower() != "set":
        raise UsageError(
            f"`relay {_shorten(verb)}`: expected `relay set` and one of none, list, near or both.", args.usage
        )
    args.name = "relay set"
    word = args.next("one of none, list, near or both")
    _printable_word(word, args.usage)
    value = word.lower().removeprefix("*")
    accepted = (
        "Accepted: none (no relaying), list (the *ACCEPT list), near, both, or all (an open relay: a dangerous "
        "change that needs the stronger approval policy)."
    )
    if value not in RELAY_CHOICES:
        raise UsageError(f"`{_shorten(word)}` is not a relay setting. {accepted}", args.usage)
    return ClRequest(ChangeSmtpRelay.build(value), args.reason())


def parse_trust(args: Arguments) -> TrustRequest:
    return TrustRequest(_network(args.next("an IP address or network"), args.usage), args.reason())


def parse_untrust(args: Arguments) -> UntrustRequest:
    return UntrustRequest(_network(args.next("an IP address or network"), args.usage), args.reason())


def parse_silence(args: Arguments) -> SilenceRequest:
    kind, target = _silence_target(args.next("an IP address or an alert fingerprint"), args.usage)
    seconds = _duration(args.next(f"a duration from 1m to 30d, {DURATION_FORM}"), args.usage)
    return SilenceRequest(kind, target, seconds, args.reason())


def parse_unsilence(args: Arguments) -> UnsilenceRequest:
    kind, target = _silence_target(args.next("an IP address or an alert fingerprint"), args.usage)
    args.end()
    return UnsilenceRequest(kind, target)


def parse_audit(args: Arguments) -> AuditRequest:
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


def _silence_target(word: str, usage: str) -> tuple[str, str]:
    if _FINGERPRINT.fullmatch(word):
        return "fingerprint", word
    if _ANY_CASE_FINGERPRINT.fullmatch(word):
        raise UsageError(
            f"`{_shorten(word)}`: alert fingerprints are 16 lowercase hex characters, as shown under "
            f"each alert: {word.lower()}.",
            usage,
        )
    return "address", str(_address(word, usage, _TARGET_EXPECTED))


def _list_type(word: str, usage: str) -> str:
    value = "*" + word.upper().removeprefix("*") if word.isascii() else ""
    if value not in SMTP_LIST_TYPES:
        raise UsageError(f"`{_shorten(word)}` is not an SMTP list; expected accept or reject.", usage)
    return value


def _cl_problem(error: CLValidationError) -> str:
    return str(error).replace("`", "\\x60") + "."
