"""Trusted networks as sorted, merged address ranges: membership is a binary search, whatever the list's size."""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable

from bot.ibmi.rows import IPAddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustList:
    def __init__(self, networks: Iterable[Network] = ()):
        self.networks = tuple(networks)
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        for version in (4, 6):
            ranges = sorted(
                (int(n.network_address), int(n.broadcast_address)) for n in self.networks if n.version == version
            )
            merged: list[list[int]] = []
            for start, end in ranges:
                if merged and start <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            self._starts[version] = [start for start, _ in merged]
            self._ends[version] = [end for _, end in merged]

    def __contains__(self, address: IPAddress) -> bool:
        starts = self._starts[address.version]
        index = bisect.bisect_right(starts, int(address)) - 1
        return index >= 0 and int(address) <= self._ends[address.version][index]


def is_local(address: IPAddress) -> bool:
    """Loopback or unspecified: the system talking to itself, or a socket with no peer."""
    return address.is_loopback or address.is_unspecified
