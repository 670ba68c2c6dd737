"""Reading a command string from a CD entry: its name, its parameters, and a form two spellings of one command share.

The bot's own commands (ENDTCPCNN, ADDSMTPLE, RMVSMTPLE, CHGSMTPA, ENDTCPSVR, STRTCPSVR) are read with the
project's strict CL parser (bot.ibmi.cl.parse), whose canonical text is what the bot ran. Any other command is
only scanned here: blanks, keywords with their parenthesised values, quoted strings; nothing is ever run or
evaluated. A value given by position is placed by the command's positional parameters, where this module knows
them (`POSITIONAL`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.ibmi.cl import CLParseError, CLValidationError, parse

# The first positional parameters of the commands that change an output queue, as IBM's command pages list them
# (CHGOUTQ, CLROUTQ, DLTOUTQ: OUTQ; GRTOBJAUT, RVKOBJAUT, EDTOBJAUT, CHGOBJOWN: OBJ then OBJTYPE).
# The positions are unconfirmed beyond the pages' parameter tables; keyword forms are always recognised.
POSITIONAL: dict[str, tuple[str, ...]] = {
    "CHGOUTQ": ("OUTQ",),
    "CLROUTQ": ("OUTQ",),
    "DLTOUTQ": ("OUTQ",),
    "GRTOBJAUT": ("OBJ", "OBJTYPE"),
    "RVKOBJAUT": ("OBJ", "OBJTYPE"),
    "EDTOBJAUT": ("OBJ", "OBJTYPE"),
    "CHGOBJOWN": ("OBJ", "OBJTYPE"),
}

_TOKEN = re.compile(r"'(?:[^']|'')*'|[()]|[^\s()']+")
_KEYWORD = re.compile(r"[A-Z][A-Z0-9]{0,9}")


@dataclass(frozen=True)
class CommandText:
    """A command string as scanned: the command name (upper case), its library when qualified, its parameters by
    keyword (values as written, upper case outside quotes), and whether the scan understood all of it."""

    name: str
    library: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    complete: bool = True
    unplaced: tuple[str, ...] = ()  # values given by position beyond those this module can place

    def value(self, keyword: str) -> str | None:
        return self.parameters.get(keyword)


def _upper_outside_quotes(token: str) -> str:
    return token if token.startswith("'") else token.upper()


def scan(text: str) -> CommandText | None:
    """The command in text; None when there is no command name at all."""
    tokens = [_upper_outside_quotes(token) for token in _TOKEN.findall(text)]
    if not tokens or tokens[0] in ("(", ")") or tokens[0].startswith("'"):
        return None
    library, _, name = tokens[0].rpartition("/")
    parameters: dict[str, str] = {}
    unplaced: list[str] = []
    complete = True
    positions = POSITIONAL.get(name, ())
    position = 0
    index = 1
    while index < len(tokens):
        token = tokens[index]
        if index + 1 < len(tokens) and tokens[index + 1] == "(" and _KEYWORD.fullmatch(token):
            closing, value = _parenthesised(tokens, index + 2)
            if closing is None:
                complete = False
            parameters[token] = value
            index = len(tokens) if closing is None else closing + 1
        elif token in ("(", ")"):
            complete = False
            index += 1
        else:
            if position < len(positions) and positions[position] not in parameters:
                parameters[positions[position]] = token
            else:
                unplaced.append(token)
            position += 1
            index += 1
    return CommandText(name, library or None, parameters, complete, tuple(unplaced))


def _parenthesised(tokens: list[str], start: int) -> tuple[int | None, str]:
    """The index of the matching ")" (None when never closed) and the values between, joined by one blank."""
    depth, values = 0, list[str]()
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token == "(":
            depth += 1
        elif token == ")":
            if depth == 0:
                return index, " ".join(values)
            depth -= 1
        values.append(token)
    return None, " ".join(values)


def normalised(text: str) -> str:
    """One form for two spellings of the same command: the strict parser's canonical text for the bot's commands
    (case, blanks, keyword or positional form, QSYS/ or none); otherwise the name without a QSYS or *LIBL
    qualifier and the parameters in keyword order, upper case outside quotes."""
    try:
        return parse(text.strip()).to_cl()
    except (CLParseError, CLValidationError):
        pass
    scanned = scan(text)
    if scanned is None:
        return " ".join(text.split()).upper()
    library = scanned.library if scanned.library not in (None, "QSYS", "*LIBL") else None
    name = f"{library}/{scanned.name}" if library else f"QSYS/{scanned.name}"
    parameters = [f"{key}({value})" for key, value in sorted(scanned.parameters.items())]
    return " ".join([name, *scanned.unplaced, *parameters])
