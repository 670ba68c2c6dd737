"""IP addresses and networks in a command, read by the one address policy (bot.net) with its refusals turned
into usage errors; and the checks a request made by hand gets for the same values."""

from __future__ import annotations

import ipaddress

from bot.command_parsing.usage import UsageError, _shorten
from bot.net import AddressProblem, parse_typed_address, parse_typed_network

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_ADDRESS_EXPECTED = "an IPv4 address such as 203.0.113.7 or an IPv6 address such as 2001:db8::7"
_NETWORK_EXPECTED = "an address such as 198.51.100.7 or a network such as 198.51.100.0/24"
_MAPPED_V6 = ipaddress.IPv6Network("::ffff:0:0/96")


def _quoted(text: str) -> str:
    return f"`{_shorten(text)}`"


def _address(word: str, usage: str, expected: str = _ADDRESS_EXPECTED) -> IPAddress:
    """One IP address as bot.net reads what a person types; an IPv4-mapped address comes back as IPv4."""
    try:
        return parse_typed_address(word, expected)
    except AddressProblem as problem:
        raise UsageError(problem.message(_quoted), usage) from None


def _network(word: str, usage: str) -> Network:
    """A network as the trust list holds it: strict (no host bits), a single address as /32 or /128."""
    try:
        return parse_typed_network(word, _NETWORK_EXPECTED)
    except AddressProblem as problem:
        raise UsageError(problem.message(_quoted), usage) from None


def _check_address(address: object) -> None:
    if type(address) not in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        raise ValueError(f"{address!r} is not an IPv4Address or IPv6Address")
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    if isinstance(address, ipaddress.IPv6Address) and (address.scope_id or address.ipv4_mapped is not None):
        raise ValueError(f"{address} has a zone id or is IPv4-mapped; give the plain address")


def _check_network(network: object) -> None:
    if type(network) not in (ipaddress.IPv4Network, ipaddress.IPv6Network):
        raise ValueError(f"{network!r} is not an IPv4Network or IPv6Network")
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED_V6):
        raise ValueError(f"{network} is IPv4-mapped; give the IPv4 network")
