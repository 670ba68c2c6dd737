"""Trusted networks as sorted, merged address ranges: membership is a binary search, whatever the list's size.

Remote addresses go from NETSTAT's text straight to integers (the C library's inet_pton), so judging a
large result costs little more than reading its addresses; `ipaddress` objects are built only for the
untrusted few. The answers are those of `parse_address`, `is_local` and `in`, exactly.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from socket import AF_INET, AF_INET6, inet_ntoa, inet_pton

from bot.net.address import IPAddress, Network, parse_address

# An address as one integer (`key_of`): an IPv4 address is its value, an IPv6 address its value with bit
# 128 set. Keys of the two families never meet, and sort in (version, address) order.
AddressKey = int
IPV6_KEY_BIT = 1 << 128

# What `bot.net.address.is_local` calls local: unspecified and loopback. ::/127 is :: and ::1.
_LOCAL = tuple(ipaddress.ip_network(n) for n in ("0.0.0.0/32", "127.0.0.0/8", "::/127"))


class TrustList:
    def __init__(self, networks: Iterable[Network] = ()):
        self.networks = tuple(networks)
        self._trusted = _bounds(self.networks)
        self._quiet = _bounds(self.networks + _LOCAL)  # trusted or local: never a finding

    def __contains__(self, address: IPAddress) -> bool:
        return self.contains_key(key_of(address))

    def contains_key(self, key: AddressKey) -> bool:
        """`address_from_key(key) in self`."""
        return bisect.bisect_right(self._trusted, key) & 1 == 1

    def untrusted_key(self, text: str | None) -> AddressKey | None:
        """The `address_key` of `text` if it is an address neither local nor trusted, else None."""
        return None if text is None else self.untrusted_keys((text,)).get(text)

    def untrusted_keys(self, texts: Iterable[str | None]) -> dict[str, AddressKey]:
        """The texts that are addresses neither local nor trusted, each with its `address_key`.

        Each distinct text is read once (NETSTAT repeats addresses). A text left out is trusted, local or
        not an address: for each, the answer of `parse_address`, then `is_local` and `in`.
        """
        return _keys_outside(texts, self._quiet)

    def remote_keys(self, texts: Iterable[str | None]) -> dict[str, tuple[AddressKey, bool]]:
        """The texts that are addresses neither unspecified nor loopback, each with its `address_key` and
        whether it is trusted: for each, the answer of `parse_address`, then `is_local` and `in`."""
        trusted, bisect_right = self._trusted, bisect.bisect_right
        remote = _keys_outside(texts, _LOCAL_BOUNDS)
        return {text: (key, bisect_right(trusted, key) & 1 == 1) for text, key in remote.items()}


def address_keys(texts: Iterable[str | None]) -> dict[str, AddressKey]:
    """Each distinct text that is an address, with its key: `address_key` for many texts, read the fast way."""
    return _keys_outside(texts, ())


def is_local_key(key: AddressKey) -> bool:
    """`is_local(address_from_key(key))`: unspecified or loopback."""
    return bisect.bisect_right(_LOCAL_BOUNDS, key) & 1 == 1


def address_key(text: str | None) -> AddressKey | None:
    """`key_of(parse_address(text))`, or None where that is None: the same answer, faster."""
    return None if text is None else _keys_outside((text,), ()).get(text)


def key_of(address: IPAddress) -> AddressKey:
    """An address as one integer (`AddressKey`). An IPv4-mapped IPv6 address object stays IPv6 here."""
    return int(address) if address.version == 4 else int(address) | IPV6_KEY_BIT


def address_from_key(key: AddressKey) -> IPAddress:
    """The address a key stands for."""
    return ipaddress.IPv6Address(key ^ IPV6_KEY_BIT) if key & IPV6_KEY_BIT else ipaddress.IPv4Address(key)


def address_text(key: AddressKey) -> str:
    """`address_from_key(key).compressed`, faster for IPv4."""
    return inet_ntoa(key.to_bytes(4, "big")) if key < IPV6_KEY_BIT else address_from_key(key).compressed


def _bounds(networks: Iterable[Network]) -> list[int]:
    """The networks' key ranges merged into [start, end + 1, start, end + 1, …], strictly increasing.

    A key lies in one of the networks exactly when an odd number of bounds are <= it.
    """
    bounds: list[int] = []
    for start, end in sorted((key_of(n.network_address), key_of(n.broadcast_address)) for n in networks):
        if bounds and start <= bounds[-1]:  # overlapping or adjacent: extend the last range
            bounds[-1] = max(bounds[-1], end + 1)
        else:
            bounds += (start, end + 1)
    return bounds


def _keys_outside(texts: Iterable[str | None], bounds: list[int] | tuple[()]) -> dict[str, AddressKey]:
    """Each distinct text that is an address whose key lies outside `bounds`, with that key.

    A plain address is read by inet_pton; anything else (spaces, brackets, a zone id, text that is not
    an address) goes to `parse_address` itself. This loop is the unknown-connections check's hot path.
    """
    outside: dict[str, AddressKey] = {}
    pton = inet_pton if _inet_pton_agrees else _refuse
    from_bytes, af_inet, af_inet6, bisect_right = int.from_bytes, AF_INET, AF_INET6, bisect.bisect_right
    for text in dict.fromkeys(texts):
        if text is None:  # NULL in NETSTAT: no address
            continue
        try:
            if ":" in text:  # IPv6; IPv4-mapped ::ffff:a.b.c.d is unwrapped to IPv4, as parse_address does
                key = from_bytes(pton(af_inet6, text))
                key = key & 0xFFFFFFFF if key >> 32 == 0xFFFF else key | IPV6_KEY_BIT
            else:
                key = from_bytes(pton(af_inet, text))
        except (OSError, ValueError, TypeError):
            address = parse_address(text)
            if address is None:
                continue
            key = key_of(address)
        if not bisect_right(bounds, key) & 1:
            outside[text] = key
    return outside


def _refuse(family: int, text: str) -> bytes:
    raise OSError("inet_pton is not used here")


# inet_pton is the C library's, and C libraries differ. Where it reads any of these unlike `ipaddress`
# (leading zeros, short or over-long forms, a "::" standing for no group), only `parse_address` is used.
_INET_PTON_PROBES = (
    "010.1.1.1",
    "1.1.1.01",
    "1.2.3",
    "1.2.3.4.",
    "0x7f.1.1.1",
    "1.2.3.256",
    "127.1",
    "1.2.3.4",
    "0.0.0.0",
    "::ffff:010.1.1.1",
    "::ffff:1.2.3.4",
    "::1.2.3.4",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1:2:3:4::5:6:7:8",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1::",
    "::",
    "00000::1",
    ":1::2",
    "1:::2",
    "1:2:3:4:5:6:7:8:9",
    "1.2.3.4::",
    "::ffff:1.2.3",
    "::1:2.3.4.5",
    "FE80::A",
    "fe80::1%eth0",
    " 10.0.0.1",
)


def _inet_pton_reads_like_ipaddress() -> bool:
    for text in _INET_PTON_PROBES:
        address = parse_address(text)
        if _keys_outside((text,), ()).get(text) != (None if address is None else key_of(address)):
            return False
    return True


_LOCAL_BOUNDS = _bounds(_LOCAL)
_inet_pton_agrees = True  # while the probes themselves are read
_inet_pton_agrees = _inet_pton_reads_like_ipaddress()
