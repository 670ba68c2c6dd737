"""CL commands the bot runs through ``CALL QSYS2.QCMDEXC(?)``, and the parser the demo system uses.

A command object holds only parsed addresses, whole-number ports and known keyword values, so
``to_cl()`` never carries free text; ``parse(cmd.to_cl()) == cmd`` for every command.
Untrusted values enter through each command's ``build()`` (the parser uses it too) and are
rejected with a `CLValidationError` whose message is safe to show in Slack.

IBM sources:

- ENDTCPCNN (End TCP/IP Connection): IBM i CL command page (IBM RDP 9.5 update site; V5R4
  Information Center ``endtcpcnn.htm``).
- ADDSMTPLE (Add SMTP List Entry): https://ibm.com/support/knowledgecenter/en/ssw_ibm_i_74/cl/addsmtple.htm
- CHGSMTPA (Change SMTP Attributes): https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_73/cl/chgsmtpa.htm;
  the ALWRLY values as named in Kisco's "SMTP relay controls"
  (https://www.kisco.com/u/content/smtp-relay-controls.html).
- QCMDEXC takes commands of up to 32000 characters:
  https://www.ibm.com/docs/en/i/7.5.0?topic=services-qcmdexc-scalar-function
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self, TypeVar

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_T = TypeVar("_T")

RELAY_POLICIES: tuple[str, ...] = ("*NONE", "*ALL", "*LIST", "*NEAR", "*BOTH")
SMTP_LIST_TYPES: tuple[str, ...] = ("*ACCEPT", "*REJECT")
MAX_COMMAND_LENGTH = 32000
MAX_VALUE_LENGTH = 64
SHOWN_CHARACTERS = 40

_ADDRESS_ACCEPTED = (
    "an IPv4 address such as 10.1.1.5 or an IPv6 address such as 2001:db8::5, without brackets or a zone id"
)
_IPV4_ACCEPTED = "an IPv4 address such as 10.1.1.0 (IPv6 list entries are not supported)"
_PORT_ACCEPTED = "a whole number from 1 to 65535"
_MASK_ACCEPTED = "a contiguous IPv4 subnet mask such as 255.255.255.0, or a prefix length from 0 to 32 such as /24"
_LIST_TYPE_ACCEPTED = "*ACCEPT or *REJECT (IPv6 list types such as *ACCEPTIP6 are not supported)"
_RELAY_ACCEPTED = "one of " + ", ".join(RELAY_POLICIES)
_PROTOCOL_ACCEPTED = "*TCP"
_HOST_MASK = ipaddress.IPv4Address("255.255.255.255")
_ALL_ONES = 0xFFFFFFFF


class CLValidationError(ValueError):
    """A value that may not go into a CL command. str() is one sentence, safe to show in Slack.

    parameter is the CL keyword (e.g. LCLPORT), problem says what was wrong, accepted what is accepted.
    message_id is the CPF message IBM i would report for the command.
    """

    message_id: ClassVar[str] = "CPF0006"

    def __init__(self, parameter: str, problem: str, accepted: str) -> None:
        super().__init__(parameter, problem, accepted)
        self.parameter = parameter
        self.problem = problem
        self.accepted = accepted

    def __str__(self) -> str:
        return f"{self.parameter}: {self.problem}; expected {self.accepted}"


class CLParseError(ValueError):
    """Text that is not one of the supported commands, reported as IBM i reports it.

    message_id is always CPF0006 ("Errors occurred in command."); detail_id is CPD0030 when the
    command name is unknown, otherwise None; detail is the reason, and text (also str()) is
    "Errors occurred in command." followed by the reason.
    """

    message_id: ClassVar[str] = "CPF0006"

    def __init__(self, detail: str, detail_id: str | None = None) -> None:
        super().__init__(detail, detail_id)
        self.detail = detail
        self.detail_id = detail_id
        self.text = f"Errors occurred in command. {detail}"

    def __str__(self) -> str:
        return self.text


_SLACK_ESCAPES = str.maketrans({"<": "\\x3c", ">": "\\x3e", "&": "\\x26"})


def show(value: object) -> str:
    """Untrusted input as it may appear in a message: at most 40 characters, quoted, with control
    characters and Slack's markup characters (<, >, &) escaped as repr() escapes.
    """
    if isinstance(value, str):
        quoted = repr(value[:SHOWN_CHARACTERS]).translate(_SLACK_ESCAPES)
        return quoted + ("…" if len(value) > SHOWN_CHARACTERS else "")
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value) if abs(value) < 10**SHOWN_CHARACTERS else "a very large number"
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return show(str(value))
    return f"a value of type {show(type(value).__name__)}"


def quote_cl_string(value: str) -> str:
    """A CL character value: in apostrophes, embedded apostrophes doubled. Only for validated values."""
    return "'" + value.replace("'", "''") + "'"


# Validation of untrusted values. Each validator takes the CL keyword it reports errors for.


def _text(parameter: str, value: object, accepted: str, what: str) -> str:
    """The value stripped of surrounding ASCII spaces, if it is short, printable, plain ASCII text."""
    if not isinstance(value, str):
        raise CLValidationError(parameter, f"{show(value)} is not {what}", accepted)
    text = value.strip(" ")
    if len(text) > MAX_VALUE_LENGTH:
        problem = f"{show(value)} is too long ({len(text)} characters)"
    elif not text:
        problem = "the value is empty"
    elif not (text.isascii() and text.isprintable()):
        problem = f"{show(value)} contains characters other than printable plain ASCII"
    else:
        return text
    raise CLValidationError(parameter, problem, accepted)


_ADDRESS_CHARACTERS = re.compile(r"[0-9A-Fa-f.:]+")


def _ip_address(parameter: str, value: object, accepted: str = _ADDRESS_ACCEPTED) -> IPAddress:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        value = str(value)  # parsed again: rejects zone ids, and subclasses become plain addresses
    text = _text(parameter, value, accepted, "an IP address")
    if text == "*":
        raise CLValidationError(parameter, "'*' (every address) is not accepted by this bot", accepted)
    if _ADDRESS_CHARACTERS.fullmatch(text):
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            pass
    raise CLValidationError(parameter, f"{show(value)} is not an IP address", accepted)


def _ipv4_address(parameter: str, value: object) -> ipaddress.IPv4Address:
    address = _ip_address(parameter, value, _IPV4_ACCEPTED)
    if not isinstance(address, ipaddress.IPv4Address):
        raise CLValidationError(parameter, f"{show(value)} is an IPv6 address", _IPV4_ACCEPTED)
    return address


_PORT = re.compile(r"[0-9]{1,5}")


def _port(parameter: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = int(value)
    else:
        text = _text(parameter, value, _PORT_ACCEPTED, "a port number")
        if not _PORT.fullmatch(text):
            raise CLValidationError(parameter, f"{show(value)} is not a port number", _PORT_ACCEPTED)
        number = int(text)
    if not 1 <= number <= 65535:
        raise CLValidationError(parameter, f"{show(value)} is out of range", _PORT_ACCEPTED)
    return number


_PREFIX = re.compile(r"/([0-9]{1,2})")
_DOTTED = re.compile(r"[0-9.]+")


def _mask(parameter: str, value: object) -> ipaddress.IPv4Address:
    """A mask from dotted text, an IPv4Address, a prefix length (int 24 or text "/24"), or None (host)."""
    if value is None:
        return _HOST_MASK
    if isinstance(value, int) and not isinstance(value, bool):
        return _prefix_mask(parameter, int(value), value)
    if isinstance(value, ipaddress.IPv4Address):
        value = str(value)
    text = _text(parameter, value, _MASK_ACCEPTED, "a subnet mask")
    prefix = _PREFIX.fullmatch(text)
    if prefix:
        return _prefix_mask(parameter, int(prefix.group(1)), value)
    if _DOTTED.fullmatch(text):
        try:
            return _contiguous_mask(parameter, ipaddress.IPv4Address(text), value)
        except ipaddress.AddressValueError:
            pass
    raise CLValidationError(parameter, f"{show(value)} is not a subnet mask", _MASK_ACCEPTED)


def _prefix_mask(parameter: str, length: int, value: object) -> ipaddress.IPv4Address:
    if not 0 <= length <= 32:
        raise CLValidationError(parameter, f"{show(value)} is not a prefix length", _MASK_ACCEPTED)
    return ipaddress.IPv4Network((0, length)).netmask


def _contiguous_mask(parameter: str, mask: ipaddress.IPv4Address, value: object) -> ipaddress.IPv4Address:
    host_bits = ~int(mask) & _ALL_ONES
    if host_bits & (host_bits + 1):
        raise CLValidationError(parameter, f"{show(value)} is not a contiguous subnet mask", _MASK_ACCEPTED)
    return mask


def _choice(parameter: str, value: object, choices: tuple[str, ...], accepted: str, what: str) -> str:
    """A special value such as *ACCEPT, given in any case and with or without the asterisk."""
    word = _text(parameter, value, accepted, what).upper()
    if not word.startswith("*"):
        word = "*" + word
    if word not in choices:
        raise CLValidationError(parameter, f"{show(value)} is not {what}", accepted)
    return word


def _list_type(parameter: str, value: object) -> str:
    return _choice(parameter, value, SMTP_LIST_TYPES, _LIST_TYPE_ACCEPTED, "a supported list type")


def _relay_policy(parameter: str, value: object) -> str:
    return _choice(parameter, value, RELAY_POLICIES, _RELAY_ACCEPTED, "a relay policy")


def _protocol(value: object) -> str:
    if isinstance(value, str) and value.strip(" ").upper() in ("UDP", "*UDP"):
        raise CLValidationError("PROTOCOL", "*UDP connections are not supported by this bot", _PROTOCOL_ACCEPTED)
    return _choice("PROTOCOL", value, ("*TCP",), _PROTOCOL_ACCEPTED, "a protocol")


def _canonical(parameter: str, value: _T, validate: Callable[[str, object], _T]) -> None:
    """Raise unless value is exactly what validate makes of it, as for every value build() stores."""
    result = validate(parameter, value)
    if type(result) is not type(value) or result != value:
        raise CLValidationError(
            parameter,
            f"{show(value)} is not in canonical form",
            f"{show(result)} (use build() for untrusted values)",
        )


def _check_remote(local: IPAddress, remote: IPAddress) -> None:
    if remote.is_unspecified:
        raise CLValidationError(
            "RMTINTNETA", f"{show(remote)} is the unspecified address", "the remote address of one connection"
        )
    if remote.version != local.version:
        raise CLValidationError(
            "RMTINTNETA",
            f"{show(remote)} is IPv{remote.version} but LCLINTNETA is IPv{local.version}",
            f"an IPv{local.version} address, the same IP version as LCLINTNETA",
        )


# The commands.


@dataclass(frozen=True)
class EndTcpConnection:
    """ENDTCPCNN for one TCP connection, with its addresses and ports as NETSTAT shows them.

    IPv4-mapped IPv6 addresses are kept as given, since the connection is identified by them.
    """

    local_address: IPAddress
    local_port: int
    remote_address: IPAddress
    remote_port: int

    def __post_init__(self) -> None:
        _canonical("LCLINTNETA", self.local_address, _ip_address)
        _canonical("LCLPORT", self.local_port, _port)
        _canonical("RMTINTNETA", self.remote_address, _ip_address)
        _canonical("RMTPORT", self.remote_port, _port)
        _check_remote(self.local_address, self.remote_address)

    @classmethod
    def build(
        cls,
        local_address: str | IPAddress,
        local_port: int | str,
        remote_address: str | IPAddress,
        remote_port: int | str,
    ) -> Self:
        return cls(
            _ip_address("LCLINTNETA", local_address),
            _port("LCLPORT", local_port),
            _ip_address("RMTINTNETA", remote_address),
            _port("RMTPORT", remote_port),
        )

    def to_cl(self) -> str:
        return (
            f"ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA({quote_cl_string(self.local_address.compressed)})"
            f" LCLPORT({self.local_port}) RMTINTNETA({quote_cl_string(self.remote_address.compressed)})"
            f" RMTPORT({self.remote_port})"
        )


@dataclass(frozen=True)
class _SmtpListEntry:
    list_type: str
    address: ipaddress.IPv4Address
    mask: ipaddress.IPv4Address

    cl_name: ClassVar[str]

    def __post_init__(self) -> None:
        _canonical("TYPE", self.list_type, _list_type)
        _canonical("INTNETADR", self.address, _ipv4_address)
        _canonical("SUBNETMASK", self.mask, _mask)

    @classmethod
    def build(
        cls,
        list_type: str,
        address: str | ipaddress.IPv4Address,
        mask: str | int | ipaddress.IPv4Address | None = None,
    ) -> Self:
        """list_type: *ACCEPT or *REJECT in any case, with or without the asterisk.

        mask: dotted (255.255.255.0), a prefix length (24 or "/24"), or None for a single host.
        """
        return cls(_list_type("TYPE", list_type), _ipv4_address("INTNETADR", address), _mask("SUBNETMASK", mask))

    def to_cl(self) -> str:
        return (
            f"{self.cl_name} TYPE({self.list_type}) INTNETADR({quote_cl_string(str(self.address))})"
            f" SUBNETMASK({quote_cl_string(str(self.mask))})"
        )


@dataclass(frozen=True)
class AddSmtpListEntry(_SmtpListEntry):
    """ADDSMTPLE: add an address and mask to the *ACCEPT (relay) or *REJECT list."""

    cl_name: ClassVar[str] = "ADDSMTPLE"


@dataclass(frozen=True)
class RemoveSmtpListEntry(_SmtpListEntry):
    """RMVSMTPLE: remove an address and mask from the *ACCEPT or *REJECT list.

    IBM's RMVSMTPLE parameters are unconfirmed; they are assumed to mirror ADDSMTPLE.
    """

    cl_name: ClassVar[str] = "RMVSMTPLE"


@dataclass(frozen=True)
class ChangeSmtpRelay:
    """CHGSMTPA ALWRLY: who may relay mail through the SMTP server."""

    allow_relay: str

    def __post_init__(self) -> None:
        _canonical("ALWRLY", self.allow_relay, _relay_policy)

    @classmethod
    def build(cls, allow_relay: str) -> Self:
        """allow_relay: one of RELAY_POLICIES, in any case, with or without the asterisk."""
        return cls(_relay_policy("ALWRLY", allow_relay))

    def to_cl(self) -> str:
        return f"CHGSMTPA ALWRLY({self.allow_relay})"


ClCommand = EndTcpConnection | AddSmtpListEntry | RemoveSmtpListEntry | ChangeSmtpRelay


# The parser.


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
}

_BLANKS = re.compile(r" *")
_COMMAND_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,9}")
_KEYWORD_OPEN = re.compile(r"([A-Za-z][A-Za-z0-9]{0,9})\(")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_UNQUOTED = re.compile(r"[A-Za-z0-9*._:]+")


def parse(text: str) -> ClCommand:
    """The command in text, one of ENDTCPCNN, ADDSMTPLE, RMVSMTPLE and CHGSMTPA (see the module docstring).

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
    if "/" in word:
        raise CLParseError(f"{show(word)} is qualified with a library; give the command name alone")
    if not _COMMAND_NAME.fullmatch(word):
        raise CLParseError(f"{show(word)} is not a command name")
    name = word.upper()
    if name not in _GRAMMARS:
        raise CLParseError(f"Command {name} in library *LIBL not found.", "CPD0030")
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
