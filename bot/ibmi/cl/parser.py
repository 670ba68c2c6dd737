"""The strict parser of the CL the bot builds (the demo IBM i runs it, and approvals re-read stored commands).

`parse(cmd.to_cl()) == cmd` for every command; anything else fails the way IBM i reports it (a CPD/CPF id)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.ibmi.cl.commands import (
    LIBRARY,
    AddSmtpListEntry,
    ChangeSmtpRelay,
    ClCommand,
    EndTcpConnection,
    EndTcpServer,
    RemoveSmtpListEntry,
    StartTcpServer,
)
from bot.ibmi.cl.values import (
    MAX_COMMAND_LENGTH,
    CLParseError,
    _protocol,
    show,
)


@dataclass(frozen=True)
class _Grammar:
    keywords: tuple[str, ...]  # the keywords this bot accepts, in IBM's positional order
    positional: int  # how many of them may be given by position
    required: tuple[str, ...]
    make: Callable[[dict[str, str]], ClCommand]


_ENDTCPCNN_KEYWORDS = ("PROTOCOL", "LCLINTNETA", "LCLPORT", "RMTINTNETA", "RMTPORT")
_SMTPLE_KEYWORDS = ("TYPE", "INTNETADR", "SUBNETMASK")
_GRAMMARS: dict[str, _Grammar] = {
    "ENDTCPCNN": _Grammar(
        _ENDTCPCNN_KEYWORDS,
        5,
        _ENDTCPCNN_KEYWORDS,
        lambda v: EndTcpConnection.build(v["LCLINTNETA"], v["LCLPORT"], v["RMTINTNETA"], v["RMTPORT"]),
    ),
    "ADDSMTPLE": _Grammar(
        _SMTPLE_KEYWORDS,
        1,
        ("TYPE", "INTNETADR"),
        lambda v: AddSmtpListEntry.build(v["TYPE"], v["INTNETADR"], v.get("SUBNETMASK")),
    ),
    "RMVSMTPLE": _Grammar(
        _SMTPLE_KEYWORDS,
        1,
        ("TYPE", "INTNETADR"),
        lambda v: RemoveSmtpListEntry.build(v["TYPE"], v["INTNETADR"], v.get("SUBNETMASK")),
    ),
    "CHGSMTPA": _Grammar(("ALWRLY",), 0, ("ALWRLY",), lambda v: ChangeSmtpRelay.build(v["ALWRLY"])),
    "ENDTCPSVR": _Grammar(("SERVER",), 1, ("SERVER",), lambda v: EndTcpServer.build(v["SERVER"])),
    "STRTCPSVR": _Grammar(("SERVER",), 1, ("SERVER",), lambda v: StartTcpServer.build(v["SERVER"])),
}

_BLANKS = re.compile(r" *")
_COMMAND_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,9}")
_LIBRARY_NAME = re.compile(r"\*LIBL|[A-Za-z$#@][A-Za-z0-9$#@_.]{0,9}", re.IGNORECASE)
_KEYWORD_OPEN = re.compile(r"([A-Za-z][A-Za-z0-9]{0,9})\(")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_UNQUOTED = re.compile(r"[A-Za-z0-9*._:]+")


def parse(text: str) -> ClCommand:
    """The command in text, one of ENDTCPCNN, ADDSMTPLE, RMVSMTPLE, CHGSMTPA, ENDTCPSVR and STRTCPSVR (see the
    module docstring), by its name alone or qualified with QSYS (QSYS/CHGSMTPA); *LIBL/ is taken as the name alone.
    Another library is reported as IBM i reports a command it cannot find there (CPD0030).

    Raises CLParseError when text is not one of them, CLValidationError when a value is not valid.
    """
    _check_text(text)
    name, position = _command_name(text, _skip_blanks(text, 0))
    grammar = _GRAMMARS[name]
    values = _assign(name, grammar, _scan_parameters(text, position))
    if "PROTOCOL" in values:
        _protocol(values["PROTOCOL"])  # first, so that *UDP is the reason given even if more is missing
    _require(name, grammar, values)
    return grammar.make(values)


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise CLParseError(f"the command is {show(text)}, not text")
    if len(text) > MAX_COMMAND_LENGTH:
        raise CLParseError(f"the command is {len(text)} characters long; QCMDEXC accepts at most 32000")
    if not text.strip(" "):
        raise CLParseError("the command is empty")
    for index, character in enumerate(text):
        if not character.isprintable():
            raise CLParseError(
                f"character {index + 1} is a control character ({show(character)});"
                " a command is one line of printable text"
            )


def _skip_blanks(text: str, position: int) -> int:
    blanks = _BLANKS.match(text, position)
    assert blanks is not None  # " *" matches the empty string
    return blanks.end()


def _command_name(text: str, position: int) -> tuple[str, int]:
    end = text.find(" ", position)
    end = len(text) if end < 0 else end
    word = text[position:end]
    library, _, word = word.rpartition("/") if "/" in word else ("*LIBL", "", word)
    if not _COMMAND_NAME.fullmatch(word):
        raise CLParseError(f"{show(word)} is not a command name")
    if not _LIBRARY_NAME.fullmatch(library):
        raise CLParseError(f"{show(library)} is not a library name")
    name, library = word.upper(), library.upper()
    if name not in _GRAMMARS or library not in (LIBRARY, "*LIBL"):
        raise CLParseError(f"Command {name} in library {library} not found.", "CPD0030")
    return name, end


def _scan_parameters(text: str, position: int) -> list[tuple[str | None, str]]:
    """(keyword, value) pairs in order; keyword None for a value given by position."""
    parameters: list[tuple[str | None, str]] = []
    position = _skip_blanks(text, position)
    while position < len(text):
        opened = _KEYWORD_OPEN.match(text, position)
        if opened:
            keyword = opened.group(1).upper()
            value, position = _scan_parenthesised(text, opened.end(), keyword)
            parameters.append((keyword, value))
        else:
            value, position = _scan_value(text, position)
            parameters.append((None, value))
        position = _scan_separator(text, position)
    return parameters


def _scan_separator(text: str, position: int) -> int:
    after = _skip_blanks(text, position)
    if after == position and position < len(text):
        raise _unexpected(text, position)
    return after


def _scan_value(text: str, position: int) -> tuple[str, int]:
    if text.startswith("'", position):
        quoted = _QUOTED.match(text, position)
        if quoted is None:
            raise CLParseError(f"the apostrophe at character {position + 1} is never closed")
        return quoted.group(1).replace("''", "'"), quoted.end()
    token = _UNQUOTED.match(text, position)
    if token is None:
        raise _unexpected(text, position)
    return token.group(), token.end()


def _scan_parenthesised(text: str, position: int, keyword: str) -> tuple[str, int]:
    position = _skip_blanks(text, position)
    if text.startswith(")", position):
        raise CLParseError(f"{keyword} has no value")
    if position == len(text):
        raise CLParseError(f"the parenthesis after {keyword} is never closed")
    value, position = _scan_value(text, position)
    position = _skip_blanks(text, position)
    if text.startswith(")", position):
        return value, position + 1
    if position == len(text):
        raise CLParseError(f"the parenthesis after {keyword} is never closed")
    if _UNQUOTED.match(text, position) or text.startswith("'", position):
        raise CLParseError(f"{keyword} takes one value; another one starts at character {position + 1}")
    raise _unexpected(text, position)


def _unexpected(text: str, position: int) -> CLParseError:
    character = text[position]
    where = f"at character {position + 1}"
    if character in "+-" and not text[position + 1 :].strip(" "):
        return CLParseError("continuation characters (+ or -) are not accepted; give the command on one line")
    if character == "(":
        return CLParseError(f"the parenthesis {where} is misplaced; it must follow a keyword and cannot nest")
    if character == ")":
        return CLParseError(f"the closing parenthesis {where} has no opening parenthesis")
    if character == "'":
        return CLParseError(f"the apostrophe {where} is misplaced or never closed")
    return CLParseError(f"unexpected text {where}: {show(text[position:])}")


def _assign(name: str, grammar: _Grammar, parameters: list[tuple[str | None, str]]) -> dict[str, str]:
    """Values by keyword, positional values placed as IBM i places them."""
    values: dict[str, str] = {}
    keyword_seen = False
    for index, (given, value) in enumerate(parameters):
        if given is None:
            keyword = _positional_keyword(name, grammar, index, keyword_seen)
        else:
            keyword_seen = True
            keyword = given
            if keyword not in grammar.keywords:
                accepted = ", ".join(grammar.keywords)
                raise CLParseError(f"keyword {keyword} is not accepted for {name} by this bot; accepted: {accepted}")
        if keyword in values:
            raise CLParseError(f"keyword {keyword} is given more than once")
        values[keyword] = value
    return values


def _require(name: str, grammar: _Grammar, values: dict[str, str]) -> None:
    missing = [keyword for keyword in grammar.required if keyword not in values]
    if missing:
        raise CLParseError(f"{name} needs {', '.join(missing)}")


def _positional_keyword(name: str, grammar: _Grammar, index: int, keyword_seen: bool) -> str:
    if keyword_seen:
        raise CLParseError("a value given by position follows a keyword parameter")
    if index >= grammar.positional:
        raise CLParseError(f"{name} takes at most {grammar.positional} values by position")
    return grammar.keywords[index]
