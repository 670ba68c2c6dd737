"""IP addresses and networks in a command: one address (IPv4 or IPv6, no zone id, brackets or host name), an
IPv4-mapped address unwrapped, a network as the trust list holds it; and the checks a request made by hand
gets for the same values."""

from __future__ import annotations

import ipaddress
import re

from bot.command_parsing.usage import UsageError, _shorten

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_ADDRESS_CHARACTERS = re.compile(r"[0-9A-Fa-f.:]+")
_HOST_NAME = re.compile(r"(?=[A-Za-z0-9.-]*[A-Za-z])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?")
_ADDRESS_EXPECTED = "an IPv4 address such as 203.0.113.7 or an IPv6 address such as 2001:db8::7"
_NETWORK_EXPECTED = "an address such as 198.51.100.7 or a network such as 198.51.100.0/24"
_MAPPED_V6 = ipaddress.IPv6Network("::ffff:0:0/96")


def _address(word: str, usage: str, expected: str = _ADDRESS_EXPECTED) -> IPAddress:
    """One IP address, IPv4 or IPv6, in plain ASCII: no network, brackets, zone id or host name."""
    shown = f"`{_shorten(word)}`"
    if not word.isascii():
        raise UsageError(
            f"{shown} is not an IP address: it has characters that only look like ASCII digits or "
            f"letters. Type {expected} in plain ASCII.",
            usage,
        )
    address = _ip(word)
    if address is not None:
        return address
    before, slash, _ = word.partition("/")
    if slash and _ip(before) is not None:
        raise UsageError(f"{shown} is a network; give one address, {expected}.", usage)
    before, percent, _ = word.partition("%")
    if percent and _ip(before) is not None:
        raise UsageError(f"{shown} has a zone id (after %); give the address without it.", usage)
    if word.startswith("[") and word.endswith("]") and _ip(word[1:-1]) is not None:
        raise UsageError(f"{shown} is in brackets; give the address without them.", usage)
    if _HOST_NAME.fullmatch(word) and not _ADDRESS_CHARACTERS.fullmatch(word):
        raise UsageError(f"{shown} looks like a host name; ibmi-warden does not look names up. Give {expected}.", usage)
    raise UsageError(f"{shown} is not an IP address; expected {expected}.", usage)


def _ip(text: str) -> IPAddress | None:
    if not _ADDRESS_CHARACTERS.fullmatch(text):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _network(word: str, usage: str) -> Network:
    """A network as the trust list holds it: strict (no host bits), a single address as /32 or /128."""
    text, slash, prefix = word.partition("/")
    address = _address(text, usage, _NETWORK_EXPECTED)
    mapped = isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
    if slash:
        limit = address.max_prefixlen
        if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= 3 and int(prefix) <= limit):
            raise UsageError(
                f"`{_shorten('/' + prefix)}` is not a prefix length; expected /0 to /{limit} for IPv{address.version}.",
                usage,
            )
    if mapped:
        assert isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
        ipv4 = str(address.ipv4_mapped)
        if slash and int(prefix) >= 96:
            ipv4 += f"/{int(prefix) - 96}"
        form = f", {ipv4}" if not slash or int(prefix) >= 96 else ""
        raise UsageError(f"`{_shorten(word)}` is an IPv4-mapped IPv6 address; give the IPv4 form{form}.", usage)
    if not slash:
        return ipaddress.ip_network(address)
    network = ipaddress.ip_network((address, int(prefix)), strict=False)
    if network.network_address != address:
        raise UsageError(f"`{_shorten(word)}` has host bits set; did you mean {network}?", usage)
    return network


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
