"""Addresses as IBM i shows them: read leniently, so a strange NETSTAT row never stops a check.

`parse_address` takes what NETSTAT (and the bot's own stored facts, which come from NETSTAT) may hold:
surrounding spaces, [brackets], a %zone id and IPv4-mapped IPv6 (::ffff:a.b.c.d, read as its IPv4 address).
What a person types is read strictly instead: `bot.net.typed`.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str | None) -> IPAddress | None:
    """An address as NETSTAT shows it, with IPv4-mapped IPv6 (::ffff:a.b.c.d) unwrapped and zone ids dropped.

    Returns None for text that is not an address, so a strange row never stops a check.
    """
    if text is None:
        return None
    cleaned = text.strip().strip("[]").split("%", 1)[0]
    try:
        address = ipaddress.ip_address(cleaned)
    except ValueError:
        return None
    return unmapped(address)


def unmapped(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 address; any other address as it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_local(address: IPAddress) -> bool:
    """Loopback or unspecified: the system talking to itself, or a socket with no peer."""
    return address.is_loopback or address.is_unspecified


def render_address(address: IPAddress) -> str:
    """The address as text, the same on every Python: an IPv4-mapped IPv6 address keeps its dotted IPv4 tail
    (``::ffff:10.1.20.58``), which Python before 3.13 would print as ``::ffff:a01:143a``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None and not address.scope_id:
        return f"::ffff:{address.ipv4_mapped}"
    return address.compressed
