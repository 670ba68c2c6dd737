"""Special-purpose addresses (private, loopback, documentation, multicast …), answered locally, naming the RFC.

The table is this package's own: ipwhois's is incomplete (100.64.0.0/10 is sent to the registries) and its
labels follow the Python version's `ipaddress` tables (240.0.0.1 comes out as "RFC 1918").
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from bot.net import IPAddress


class Special(NamedTuple):
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    label: str
    rfc: str
    noun: str  # "network", or "address" for a single address

    @property
    def reason(self) -> str:
        return f"{self.label} ({self.rfc})"


def _special(cidr: str, label: str, rfc: str, noun: str = "network") -> Special:
    return Special(ipaddress.ip_network(cidr), label, rfc, noun)


# First match wins: more specific entries come first. IANA's special-purpose registries (RFC 6890).
_SPECIAL_V4 = (
    _special("0.0.0.0/32", "Unspecified", "RFC 1122", "address"),
    _special("0.0.0.0/8", "This Network", "RFC 1122"),
    _special("10.0.0.0/8", "Private-Use", "RFC 1918"),
    _special("100.64.0.0/10", "Shared Address Space", "RFC 6598"),
    _special("127.0.0.0/8", "Loopback", "RFC 1122"),
    _special("169.254.0.0/16", "Link-Local", "RFC 3927"),
    _special("172.16.0.0/12", "Private-Use", "RFC 1918"),
    _special("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890"),
    _special("192.0.2.0/24", "Documentation", "RFC 5737"),
    _special("192.88.99.0/24", "Deprecated 6to4 Relay Anycast", "RFC 7526"),
    _special("192.168.0.0/16", "Private-Use", "RFC 1918"),
    _special("198.18.0.0/15", "Benchmarking", "RFC 2544"),
    _special("198.51.100.0/24", "Documentation", "RFC 5737"),
    _special("203.0.113.0/24", "Documentation", "RFC 5737"),
    _special("224.0.0.0/4", "Multicast", "RFC 5771"),
    _special("255.255.255.255/32", "Limited Broadcast", "RFC 919", "address"),
    _special("240.0.0.0/4", "Reserved", "RFC 1112"),
)
_SPECIAL_V6 = (
    _special("::/128", "Unspecified", "RFC 4291", "address"),
    _special("::1/128", "Loopback", "RFC 4291", "address"),
    _special("64:ff9b::/96", "IPv4/IPv6 Translation", "RFC 6052"),
    _special("64:ff9b:1::/48", "Local-Use IPv4/IPv6 Translation", "RFC 8215"),
    _special("100::/64", "Discard-Only", "RFC 6666"),
    _special("2001::/32", "Teredo", "RFC 4380"),
    _special("2001:2::/48", "Benchmarking", "RFC 5180"),
    _special("2001:db8::/32", "Documentation", "RFC 3849"),
    _special("2001::/23", "IETF Protocol Assignments", "RFC 2928"),
    _special("2002::/16", "6to4", "RFC 3056"),
    _special("3fff::/20", "Documentation", "RFC 9637"),
    _special("fc00::/7", "Unique-Local", "RFC 4193"),
    _special("fe80::/10", "Link-Local", "RFC 4291"),
    _special("fec0::/10", "Deprecated Site-Local", "RFC 3879"),
    _special("ff00::/8", "Multicast", "RFC 4291"),
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_RESERVED_V6 = _special("::/0", "Reserved by the IETF", "RFC 4291")  # anything outside 2000::/3 not listed above
_NAT64 = _SPECIAL_V6[2].network
FALLBACK_REASON = "Special-Purpose (RFC 6890)"  # what ipwhois refused but the table above does not list


def special_for(address: IPAddress) -> Special | None:
    for entry in _SPECIAL_V4 if address.version == 4 else _SPECIAL_V6:
        if address in entry.network:
            return entry
    if address.version == 6 and address not in _GLOBAL_UNICAST_V6:
        return _RESERVED_V6
    return None


def special_purpose(address: IPAddress) -> str | None:
    """Why `address` (already normalised) needs no lookup, e.g. "Private-Use (RFC 1918)"; None for a public address."""
    entry = special_for(address)
    return entry.reason if entry else None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4, Teredo or NAT64 address carries, which is worth tracing instead."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
