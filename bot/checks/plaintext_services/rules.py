"""plaintext-services: established connections to IBM i services on their plaintext (non-TLS) ports.

IBM sources: "TCP/IP Ports Required for IBM i Access and Related Functions"
(https://www-01.ibm.com/support/docview.wss?uid=nas8N1019667) and "What server ports are used by the
IBM Toolbox for Java" (https://www.ibm.com/support/pages/what-server-ports-are-used-ibm-i-toolbox-java)
give the non-TLS/TLS port pairs; "How to configure the IBM i Host Servers for SSL Only"
(https://www.ibm.com/support/pages/node/666771) says the server mapper (449) serves secure and
non-secure clients alike and carries no customer data, and that CHGTELNA ALWSSL(*ONLY) leaves only
port 992 for telnet. A TLS port listens only once a DCM certificate is assigned to its server.
FTP 21/990 comes from a third-party knowledge base (Fortra), and a session on 21 may still be protected
by AUTH TLS; HTTP 80/443 for user web servers is a general convention, not from an IBM table.

Why it matters: Kisco, "IBM i security concerns while you're working from home" (IBM i Security Tips):
5250 sessions without SSL, and browser applications over HTTP and FTP, send user profiles and passwords
in clear text.

Severity, per service (one finding per port): critical when any untrusted address is connected, warning
when only trusted addresses are (credentials and data still cross the LAN in clear), never above the
port's `max_severity` (FTP and HTTP 80: warning, because port alone does not prove plaintext or a
sign-on; server mapper: info). Only the local port is looked at: the IBM i as the server. Loopback
and unspecified peers are left out (IBM: Navigator and other web services use the non-TLS host server
ports internally over loopback).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from bot.checks.finding import SEVERITIES, Finding
from bot.checks.plaintext_services.settings import DEFAULT_SETTINGS, PlaintextPort, PlaintextSettings
from bot.checks.tcp_states import tcp_states
from bot.checks.visibility import netstat_not_visible
from bot.ibmi.rows import NetstatConnection
from bot.net import AddressKey, TrustList, address_key, address_text

CHECK_ID = "plaintext-services"

WHY = (
    "Without TLS, whatever the client sends, user profiles and passwords included, crosses the network "
    "readable by anyone who can see the traffic; Kisco warns that 5250 sessions without SSL, "
    "and browser applications over HTTP and FTP, send profiles and passwords in clear text."
)

_RANK = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}  # info 0, warning 1, critical 2


@dataclass(frozen=True)
class Peer:
    """The remote end of a connection as this check judges it."""

    address: str  # compressed IP address, or the text as read when it is not an address
    trusted: bool  # inside the trusted networks; text that is not an address is never trusted
    parsed: bool


def remote_peer(connection: NetstatConnection, trusted: TrustList) -> Peer | None:
    """The remote end of an established, non-local connection; None for anything else."""
    if not connection.is_established:
        return None
    text = connection.remote_address
    found = trusted.remote_keys((text,)).get(text)
    if found is not None:
        return Peer(address_text(found[0]), trusted=found[1], parsed=True)
    shown = _not_an_address(text)
    return None if shown is None else Peer(shown, trusted=False, parsed=False)


def _not_an_address(text: str | None) -> str | None:
    """For text that `remote_keys` left out: the text as a finding shows it when it is not an address (never
    trusted: an unreadable peer on a plaintext port is reported, never guessed "fine"); None when it is a
    local address."""
    return (text or "").strip() or "(blank)" if address_key(text) is None else None


class _Port:
    """The remote peers of one plaintext port and their connections: addresses by key, other text as shown.

    A text that is not an address never reads like one once stripped, so the two never name the same peer."""

    def __init__(self) -> None:
        self.addresses: dict[AddressKey, int] = {}
        self.not_addresses: dict[str, int] = {}

    def peers(self, trusted: dict[AddressKey, bool]) -> list[dict[str, Any]]:
        """As a finding lists them: untrusted first; then IPv4 before IPv6, in address order (as their keys
        sort); text that is not an address after the untrusted addresses."""
        keys = sorted(self.addresses)
        untrusted = [_entry(address_text(key), False, self.addresses[key]) for key in keys if not trusted[key]]
        unread = [_entry(text, False, count) for text, count in sorted(self.not_addresses.items())]
        inside = [_entry(address_text(key), True, self.addresses[key]) for key in keys if trusted[key]]
        return untrusted + unread + inside


def _entry(address: str, trusted: bool, connections: int) -> dict[str, Any]:
    return {"address": address, "trusted": trusted, "connections": connections}


_PORT_AND_PEER = attrgetter("local_port", "remote_address")


def evaluate(
    system: str,
    connections: Sequence[NetstatConnection],
    trusted: TrustList,
    settings: PlaintextSettings = DEFAULT_SETTINGS,
) -> list[Finding]:
    """One finding per plaintext port in `settings.ports` with established remote connections."""
    states = tcp_states(connections)
    if not any(state.listening for state in states.values()):
        return [cannot_see(system)]
    table = {entry.port: entry for entry in settings.ports}
    on_plaintext = [c for c in connections if c.local_port in table and states[c.tcp_state].established]
    # NETSTAT repeats addresses: connections are counted per port and remote text, and each text read once.
    counts = Counter(map(_PORT_AND_PEER, on_plaintext))
    remote = trusted.remote_keys(text for _, text in counts)
    is_trusted: dict[AddressKey, bool] = {}
    by_port: dict[int, _Port] = {}
    for (number, text), count in counts.items():
        port = by_port.get(number) or by_port.setdefault(number, _Port())
        found = remote.get(text)
        if found is not None:
            key, is_trusted[key] = found
            port.addresses[key] = port.addresses.get(key, 0) + count
        elif (shown := _not_an_address(text)) is not None:
            port.not_addresses[shown] = port.not_addresses.get(shown, 0) + count
    return [
        _finding(system, table[number], port.peers(is_trusted), port.not_addresses, settings.max_listed)
        for number, port in sorted(by_port.items())
        if port.addresses or port.not_addresses
    ]


def cannot_see(system: str, reason: str | None = None) -> Finding:
    """Connections could not be read, or the result is implausibly empty: never "no plaintext sign-ons"."""
    return netstat_not_visible(system, CHECK_ID, "Connections over plaintext services", reason)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _listing(peers: list[dict[str, Any]], not_addresses: dict[str, int], limit: int) -> str:
    named = [
        peer["address"]
        + (f" ({peer['connections']} connections)" if peer["connections"] > 1 else "")
        + (" (not an IP address as read)" if peer["address"] in not_addresses else "")
        for peer in peers[:limit]
    ]
    rest = len(peers) - len(named)
    return ", ".join(named) + (f" and {rest} more" if rest else "")


def _cap(severity: str, ceiling: str) -> str:
    return severity if _RANK[severity] <= _RANK[ceiling] else ceiling


def _finding(
    system: str, entry: PlaintextPort, peers: list[dict[str, Any]], not_addresses: dict[str, int], limit: int
) -> Finding:
    """`peers` as `_Port.peers` lists them; `not_addresses` the texts among them that are not addresses."""
    untrusted = [peer for peer in peers if not peer["trusted"]]
    trusted = [peer for peer in peers if peer["trusted"]]
    total = sum(peer["connections"] for peer in peers)
    wanted = "critical" if untrusted else "warning"
    severity = _cap(wanted, entry.max_severity)

    details = []
    if untrusted:
        details.append(f"Untrusted: {_listing(untrusted, not_addresses, limit)}")
    if trusted:
        details.append(f"Trusted: {_listing(trusted, not_addresses, limit)}")
    if entry.tls_port is not None:
        details.append(
            f"Use port {entry.tls_port} ({entry.service} over TLS) instead; a TLS port listens only once a "
            "certificate is assigned to the server in Digital Certificate Manager."
        )
    else:
        details.append(f"IBM lists no TLS port for {entry.service}.")
    details.append(WHY)
    if entry.note:
        details.append(entry.note)
    if severity != wanted:
        details.append(f"Severity held at {severity} for port {entry.port} (max_severity).")

    return Finding(
        system=system,
        check=CHECK_ID,
        severity=severity,
        subject=f"port-{entry.port}",
        title=(
            f"Plaintext port {entry.port} ({entry.service}): {_plural(total, 'connection')} from "
            f"{_plural(len(peers), 'address', 'addresses')}, "
            + (f"{len(untrusted)} untrusted" if untrusted else "all trusted")
        ),
        details=tuple(details),
        facts={
            "port": entry.port,
            "service": entry.service,
            "tls_port": entry.tls_port,
            "max_severity": entry.max_severity,
            "connections": total,
            "untrusted_addresses": len(untrusted),
            "trusted_addresses": len(trusted),
            "addresses": peers,
        },
    )
