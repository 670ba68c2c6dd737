"""NETSTAT rows and trusted networks for the tests of the checks that read connections."""

from __future__ import annotations

import ipaddress
from decimal import Decimal

from bot.ibmi.rows import NetstatConnection
from bot.net import TrustList

TRUSTED = TrustList(
    [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.0.0/16"),
        ipaddress.ip_network("2001:db8:1::/48"),
    ]
)


def row(
    remote: str, local_port: int = 23, state: str = "ESTABLISHED", remote_port: int = 40000, local: str = "10.1.1.5"
) -> NetstatConnection:
    return NetstatConnection(
        "IPV6" if ":" in remote else "IPV4",
        remote,
        remote_port,
        None,
        local,
        local_port,
        "telnet" if local_port == 23 else None,
        "TCP",
        state,
        Decimal("4.1"),
        "QTCP",
        10,
        20,
    )


LISTEN = row("0.0.0.0", 23, "LISTEN", 0, "0.0.0.0")
