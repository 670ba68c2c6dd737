"""Parsing the text of `/ibmi …`: which sub-command, which system, which options — or what was wrong."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SubCommand:
    name: str
    usage: str  # after the slash command, e.g. "netstat [SYSTEM] [--port N]"
    example: str
    summary: str
    available: bool = True


SUB_COMMANDS = (
    SubCommand("help", "help", "help", "this list"),
    SubCommand("status", "status", "status", "each system: reachable or the error, and its last check"),
    SubCommand("netstat", "netstat [SYSTEM] [--port N]", "netstat PROD --port 23",
               "remote connections, untrusted first"),
    SubCommand("trace", "trace IP", "trace 203.0.113.7", "who owns an address (RDAP)", available=False),
    SubCommand("end", "end IP [PORT]", "end 203.0.113.7 23", "request ENDTCPCNN for its connections",
               available=False),
    SubCommand("smtp", "smtp list|add|remove …", "smtp add accept 10.1.1.0 255.255.255.0 branch office",
               "show the SMTP lists; request ADDSMTPLE / RMVSMTPLE", available=False),
    SubCommand("relay", "relay set none|list|near|both REASON", "relay set list close the open relay",
               "request CHGSMTPA ALWRLY", available=False),
    SubCommand("trust", "trust IP|CIDR REASON", "trust 198.51.100.0/24 vendor VPN",
               "request adding to the trust list", available=False),
    SubCommand("untrust", "untrust IP|CIDR", "untrust 198.51.100.0/24", "request removal from the trust list",
               available=False),
    SubCommand("silence", "silence IP|FINGERPRINT DURATION REASON", "silence 203.0.113.7 4h vendor test",
               "stop alerts for a while", available=False),
    SubCommand("unsilence", "unsilence IP|FINGERPRINT", "unsilence 203.0.113.7", "end a silence",
               available=False),
    SubCommand("approvals", "approvals", "approvals", "pending change requests", available=False),
    SubCommand("audit", "audit [N]", "audit 20", "recent audit events", available=False),
)
_BY_NAME = {sub.name: sub for sub in SUB_COMMANDS}
_MAX_TEXT = 2000


class UsageError(ValueError):
    """What was wrong with the command, and the right form."""

    def __init__(self, problem: str, usage: str | None = None):
        self.problem = problem
        self.usage = usage
        super().__init__(problem)


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    system: str | None = None  # canonical system name, when one was chosen
    port: int | None = None
    arguments: tuple[str, ...] = field(default_factory=tuple)


def usage_of(name: str, slash: str) -> str:
    return f"{slash} {_BY_NAME[name].usage}"


def parse_command_text(text: str, systems: list[str], slash: str = "/ibmi") -> ParsedCommand:
    """Raises UsageError with a message fit for the user when the text is not a valid command."""
    if len(text) > _MAX_TEXT:
        raise UsageError(f"That command is {len(text)} characters long; the limit is {_MAX_TEXT}.",
                         _usage_for_first_word(text, slash))
    try:
        words = shlex.split(text)
    except ValueError as error:
        problem = ("The command ends with a lone backslash." if "escaped" in str(error)
                   else "Unbalanced quotes in the command.")
        raise UsageError(problem, _usage_for_first_word(text, slash)) from None
    if not words:
        return ParsedCommand("help")
    name, rest = words[0].lower(), words[1:]
    sub = _BY_NAME.get(name)
    if sub is None:
        known = ", ".join(s.name for s in SUB_COMMANDS)
        raise UsageError(f"`{_shorten(words[0])}` is not a sub-command. Sub-commands: {known}.", f"{slash} help")
    usage = usage_of(name, slash)
    system, rest = _take_system(rest, systems, usage)
    if not sub.available:
        return ParsedCommand(name, system, None, tuple(rest))
    if name in ("help", "status"):
        if rest:
            raise UsageError(f"`{name}` takes no arguments (got `{_shorten(' '.join(rest))}`).", usage)
        return ParsedCommand(name, system)
    return _parse_netstat(rest, system, systems, usage)


def _usage_for_first_word(text: str, slash: str) -> str:
    """The usage of the sub-command the text starts with, when it names one; else the help command."""
    words = text.split(maxsplit=1)
    first = words[0].lower() if words else ""
    return usage_of(first, slash) if first in _BY_NAME else f"{slash} help"


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
        if system is not None:
            raise UsageError("Name the system once.", usage)
        system = _system(positional[0], systems, usage)
    return ParsedCommand("netstat", system, port)


def _take_system(words: list[str], systems: list[str], usage: str) -> tuple[str | None, list[str]]:
    system = None
    rest: list[str] = []
    iterator = iter(words)
    for word in iterator:
        if word.startswith("@"):
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


def _system(name: str, systems: list[str], usage: str) -> str:
    for system in systems:
        if system.casefold() == name.casefold():
            return system
    configured = f"Configured systems: {', '.join(systems)}." if systems else "No systems are configured."
    raise UsageError(f"Unknown system `{_shorten(name)}`. {configured}", usage)


def _port(text: str, usage: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 5 and 1 <= int(text) <= 65535):
        raise UsageError(f"`{_shorten(text)}` is not a port; expected a number from 1 to 65535.",
                         usage)
    return int(text)


def _shorten(text: str, limit: int = 40) -> str:
    """The user's text made safe to echo inside backticks: one line, no backticks, not too long."""
    if not text:
        return "(nothing)"
    cleaned = "".join(c if c.isprintable() and c != "`" else "?" for c in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
