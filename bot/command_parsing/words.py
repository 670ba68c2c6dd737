"""The words of a command: splitting the text as a shell would, reading them left to right (`Arguments`),
choosing the system (`@NAME`, `--system NAME`), and the small checks on single words (port, mask, printable).

Words are split as a shell splits them, so "quoted words" stay together; an apostrophe between letters
(vendor's) and a backslash are plain characters, and text whose quotes do not pair is split at whitespace.
`@NAME` chooses a system only when NAME is a configured one (any case); otherwise it is text ("ask @bob").
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from dataclasses import dataclass

from bot.command_parsing.reasons import _reason
from bot.command_parsing.usage import UsageError, _shorten

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


@dataclass
class Arguments:
    """The words after the sub-command (system selectors taken out), read left to right.

    `system` is the system chosen so far (a grammar may still choose one, as netstat's SYSTEM word does) and
    `port` netstat's --port; `name` is the command as errors call it ("smtp add"), refined while reading.
    """

    name: str
    words: list[str]
    usage: str
    slash: str
    systems: list[str]
    system: str | None = None
    port: int | None = None
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
