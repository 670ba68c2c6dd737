"""What a person types as an address or a network: one policy for `/ibmi`, the command line and the configuration.

Accepted:

- one IPv4 address in dotted-decimal form (203.0.113.7) or one IPv6 address (2001:db8::7), in plain ASCII;
  ASCII spaces, tabs and line ends around it are ignored;
- an IPv4-mapped IPv6 address (::ffff:203.0.113.7) as an address: it is its IPv4 address, as in NETSTAT rows;
- a network: such an address, then /PREFIX in decimal digits (/0 to /32, or /0 to /128) or, for IPv4, a
  dotted mask (/255.255.255.0), with no host bits set; a single address is a /32 or /128 network.

Refused, each with an `AddressProblem` saying what was wrong and what is accepted: nothing at all; characters
that only look like ASCII (fullwidth digits); a network where one address is wanted; a %zone id; [brackets];
host names (ibmi-warden does not look names up); leading zeros (octal or decimal?); a prefix that is not
decimal digits in range or, for IPv4, a dotted mask such as /255.0.0.0; host bits; and an IPv4-mapped network
(trust lists match mapped addresses as IPv4, so the IPv4 form is asked for).

Addresses that IBM i shows are read leniently instead (`bot.net.address.parse_address`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from bot.net.address import IPAddress, Network, unmapped

_DOTTED_MASK = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
ADDRESS_EXPECTED = "an IPv4 address such as 203.0.113.7 or an IPv6 address such as 2001:db8::7"
NETWORK_EXPECTED = "an address such as 198.51.100.7 or a network such as 198.51.100.0/24"

PROBLEM_KINDS = (
    "empty",
    "lookalike",
    "network",
    "zone",
    "brackets",
    "host_name",
    "leading_zeros",
    "invalid",
    "prefix",
    "mapped",
    "host_bits",
)

_ADDRESS_CHARACTERS = re.compile(r"[0-9A-Fa-f.:]+")
_HOST_NAME = re.compile(r"(?=[A-Za-z0-9.-]*[A-Za-z])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?")
_LEADING_ZERO = re.compile(r"(?:^|\.)0[0-9]")
_SHOWN_LIMIT = 60
_SPACES = " \t\r\n"  # ASCII only: other white space is refused, as a look-alike


def quoted(text: str) -> str:
    """The typed text shown inside a message: one line, printable, at most 60 characters, in “quotes”."""
    printable = "".join(c if c.isprintable() else "?" for c in text)
    if len(printable) > _SHOWN_LIMIT:
        printable = printable[: _SHOWN_LIMIT - 1] + "…"
    return f"“{printable}”"


class AddressProblem(ValueError):
    """What was wrong with a typed address or network, and what is accepted.

    The message is "<shown> <reason>; <advice>". Each medium quotes `shown` its own way (`message(quote)`);
    `kind` is one of PROBLEM_KINDS; `suggestion` is the form probably meant (host bits, IPv4-mapped), if any.
    """

    def __init__(self, kind: str, shown: str, reason: str, advice: str, suggestion: str | None = None):
        if kind not in PROBLEM_KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(PROBLEM_KINDS)}")
        self.kind = kind
        self.shown = shown
        self.reason = reason
        self.advice = advice
        self.suggestion = suggestion
        super().__init__(self.message())

    def message(self, quote: Callable[[str], str] = quoted) -> str:
        subject = quote(self.shown) + " " if self.shown else ""
        return f"{subject}{self.reason}; {self.advice}"


def parse_typed_address(text: str, expected: str = ADDRESS_EXPECTED) -> IPAddress:
    """One address as a person typed it; an IPv4-mapped IPv6 address comes back as its IPv4 address.

    `expected` names what the caller accepts, for the messages. Raises AddressProblem.
    """
    return unmapped(_typed_address(text.strip(_SPACES), expected))


def parse_typed_network(text: str, expected: str = NETWORK_EXPECTED) -> Network:
    """One network (or one address, as a /32 or /128) as a person typed it. Raises AddressProblem."""
    word = text.strip(_SPACES)
    address_text, slash, prefix = word.partition("/")
    if slash and not address_text:
        raise AddressProblem("invalid", word, "is not an IP address or network", f"expected {expected}.")
    address = _typed_address(address_text, expected)
    length = _prefix_length(prefix, address) if slash else int(address.max_prefixlen)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        suggestion = None
        if length >= 96:
            ipv4 = ipaddress.ip_network((address.ipv4_mapped, length - 96), strict=False)
            suggestion = ipv4.with_prefixlen if slash else str(address.ipv4_mapped)
        raise AddressProblem(
            "mapped",
            word,
            f"is an IPv4-mapped IPv6 {'network' if slash else 'address'}",
            f"give the IPv4 form{', ' + suggestion if suggestion else ''}.",
            suggestion,
        )
    network = ipaddress.ip_network((address, length), strict=False)
    if network.network_address != address:
        raise AddressProblem("host_bits", word, "has host bits set", f"did you mean {network}?", str(network))
    return network


def _prefix_length(prefix: str, address: IPAddress) -> int:
    """/24, or for IPv4 the dotted mask /255.255.255.0 (as the configuration has always accepted it)."""
    limit = address.max_prefixlen
    if prefix.isascii() and prefix.isdigit() and len(prefix) <= 3 and int(prefix) <= limit:
        return int(prefix)
    if address.version == 4 and _DOTTED_MASK.fullmatch(prefix):
        try:
            return ipaddress.IPv4Network(f"0.0.0.0/{prefix}").prefixlen
        except ValueError:
            pass
    mask = " (or a contiguous mask such as /255.255.255.0)" if address.version == 4 else ""
    raise AddressProblem(
        "prefix", "/" + prefix, "is not a prefix length", f"expected /0 to /{limit} for IPv{address.version}{mask}."
    )


def plain_address(text: str) -> IPAddress | None:
    """The address when `text` is exactly one address in plain form (ASCII, no brackets or zone), else None."""
    if not _ADDRESS_CHARACTERS.fullmatch(text):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _typed_address(word: str, expected: str) -> IPAddress:
    """The address as typed, IPv4-mapped or not; else the AddressProblem that says why not."""
    if not word:
        raise AddressProblem("empty", "", "Nothing was given", f"give {expected}.")
    if not word.isascii():
        raise AddressProblem(
            "lookalike",
            word,
            "is not an IP address: it has characters that only look like ASCII digits or letters",
            f"type {expected} in plain ASCII.",
        )
    address = plain_address(word)
    if address is not None:
        return address
    before, slash, _ = word.partition("/")
    if slash and plain_address(before) is not None:
        raise AddressProblem("network", word, "is a network", f"give one address, {expected}.")
    before, percent, _ = word.partition("%")
    if percent and plain_address(before) is not None:
        raise AddressProblem("zone", word, "has a zone id (after %)", "give the address without it.")
    if word.startswith("[") and word.endswith("]") and plain_address(word[1:-1]) is not None:
        raise AddressProblem("brackets", word, "is in brackets", "give the address without them.")
    if _HOST_NAME.fullmatch(word) and not _ADDRESS_CHARACTERS.fullmatch(word):
        raise AddressProblem(
            "host_name", word, "looks like a host name", f"ibmi-warden does not look names up. Give {expected}."
        )
    if re.fullmatch(r"[0-9.]+", word) and _LEADING_ZERO.search(word):
        raise AddressProblem(
            "leading_zeros",
            word,
            "is not an IP address: it has leading zeros, which are ambiguous (octal or decimal)",
            f"expected {expected}.",
        )
    raise AddressProblem("invalid", word, "is not an IP address", f"expected {expected}.")
