"""From the text of `/ibmi …` to a `ParsedCommand`, given the declared sub-commands: the length and
control-character limits, the sub-command's name, the system selectors, then the sub-command's own grammar."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.command_parsing.requests import ParsedCommand, Request
from bot.command_parsing.usage import UsageError, _shorten
from bot.command_parsing.words import Arguments, _split, _take_system

MAX_TEXT = 2000
EMPTY_TEXT_MEANS = "help"


class Grammar(Protocol):
    """What the reader needs of a sub-command's declaration."""

    @property
    def name(self) -> str: ...

    @property
    def usage(self) -> str: ...  # after the slash command, e.g. "netstat [SYSTEM] [--port N]"

    @property
    def parse(self) -> Callable[[Arguments], Request | None]: ...


def read_command(text: str, systems: list[str], slash: str, grammars: Sequence[Grammar]) -> ParsedCommand:
    """Raises UsageError with a message fit for the user when the text is not a valid command."""
    if len(text) > MAX_TEXT:
        raise UsageError(
            f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.",
            _usage_for_first_word(text, slash, grammars),
        )
    words, note = _split(text)
    if not words:
        return ParsedCommand(EMPTY_TEXT_MEANS)
    try:
        parsed = _parse_words(words, systems, slash, grammars)
    except UsageError as error:
        if note is None:
            raise
        raise UsageError(f"{error.problem} ({note})", error.usage) from None
    # Whitespace splitting would quietly turn a line break into a space, even inside a reason.
    if any(unicodedata.category(c) == "Cc" for c in text.strip()):
        raise UsageError(
            "The command contains a line break or another control character; write it on one line.",
            _usage(_find(parsed.name, grammars), slash),
        )
    return parsed


def _parse_words(words: list[str], systems: list[str], slash: str, grammars: Sequence[Grammar]) -> ParsedCommand:
    name, rest = words[0].lower(), words[1:]
    grammar = _find(name, grammars)
    if grammar is None:
        known = ", ".join(g.name for g in grammars)
        raise UsageError(f"`{_shorten(words[0])}` is not a sub-command. Sub-commands: {known}.", f"{slash} help")
    usage = _usage(grammar, slash)
    system, rest = _take_system(rest, systems, usage)
    args = Arguments(name, rest, usage, slash, systems, system)
    request = grammar.parse(args)
    return ParsedCommand(grammar.name, args.system, args.port, request=request)


def _find(name: str, grammars: Sequence[Grammar]) -> Grammar | None:
    return next((grammar for grammar in grammars if grammar.name == name), None)


def _usage(grammar: Grammar | None, slash: str) -> str:
    return f"{slash} {grammar.usage}" if grammar is not None else f"{slash} help"


def _usage_for_first_word(text: str, slash: str, grammars: Sequence[Grammar]) -> str:
    """The usage of the sub-command the text starts with, when it names one; else the help command."""
    words = text.split(maxsplit=1)
    first = words[0].lower() if words else ""
    return _usage(_find(first, grammars), slash)
