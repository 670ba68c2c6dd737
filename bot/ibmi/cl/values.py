"""The values a CL command may carry: validation of untrusted input, the errors it raises, and how a value is
shown in a message or quoted in CL."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import ClassVar, TypeVar

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
