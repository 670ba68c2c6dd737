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

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.checks.finding import SEVERITIES, Finding
from bot.checks.visibility import netstat_not_visible
from bot.ibmi.rows import NetstatConnection, parse_address
from bot.net import TrustList, is_local

CHECK_ID = "plaintext-services"

WHY = (
    "Without TLS, whatever the client sends, user profiles and passwords included, crosses the network "
    "readable by anyone who can see the traffic; Kisco warns that 5250 sessions without SSL, "
    "and browser applications over HTTP and FTP, send profiles and passwords in clear text."
)

_RANK = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}  # info 0, warning 1, critical 2
_PORT_KEYS = ("port", "service", "tls_port", "note", "max_severity")


def _check_port_number(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"{what} must be a port number from 1 to 65535, not {value!r}")


@dataclass(frozen=True)
class PlaintextPort:
    """A plaintext service port, its TLS alternative (None: IBM lists none), a caveat, and a severity cap."""

    port: int
    service: str
    tls_port: int | None = None
    note: str | None = None
    max_severity: str = "critical"

    def __post_init__(self) -> None:
        _check_port_number(self.port, "port")
        if not isinstance(self.service, str) or not self.service.strip():
            raise ValueError(f"service must be a non-empty string, not {self.service!r}")
        if self.tls_port is not None:
            _check_port_number(self.tls_port, "tls_port")
            if self.tls_port == self.port:
                raise ValueError(f"tls_port {self.tls_port} is the same as port")
        if self.note is not None and not isinstance(self.note, str):
            raise ValueError(f"note must be a string, not {self.note!r}")
        if self.max_severity not in SEVERITIES:
            raise ValueError(f"max_severity must be one of {', '.join(SEVERITIES)}, not {self.max_severity!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PlaintextPort:
        """From a TOML inline table such as {port = 23, service = "telnet", tls_port = 992}."""
        unknown = sorted(set(values) - set(_PORT_KEYS))
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}; expected {', '.join(_PORT_KEYS)}")
        missing = [key for key in ("port", "service") if key not in values]
        if missing:
            raise ValueError(f"missing key {missing[0]!r}")
        return cls(**values)


FTP_NOTE = (
    "AUTH TLS may protect a session on port 21, so port 21 alone does not prove plaintext: check that the "
    "FTP server requires TLS (CHGFTPA ALWSSL(*ONLY)) or use SFTP over SSH."
)
HTTP_NOTE = (
    "80/443 for user web servers is a general convention, not IBM's port table; a public web site on 80 may "
    "be intended, and what matters is whether its pages ask for sign-ons."
)
SVRMAP_NOTE = (
    "IBM: the server mapper serves secure and non-secure clients alike and carries only software-related "
    "data, no customer information; reported for information only."
)

DEFAULT_PORTS: tuple[PlaintextPort, ...] = (
    PlaintextPort(21, "ftp", 990, FTP_NOTE, "warning"),
    PlaintextPort(23, "telnet", 992),
    PlaintextPort(80, "http", 443, HTTP_NOTE, "warning"),
    PlaintextPort(446, "drda", 448),
    PlaintextPort(449, "as-svrmap", None, SVRMAP_NOTE, "info"),
    PlaintextPort(2001, "as-admin", 2010),
    PlaintextPort(2002, "as-new-nav", 2003),
    PlaintextPort(2004, "as-nav", 2005),
    PlaintextPort(2006, "as-admin3-http", 2007),
    PlaintextPort(8470, "as-central", 9470),
    PlaintextPort(8471, "as-database", 9471),
    PlaintextPort(8472, "as-dtaq", 9472),
    PlaintextPort(8473, "as-file", 9473),
    PlaintextPort(8474, "as-netprt", 9474),
    PlaintextPort(8475, "as-rmtcmd", 9475),
    PlaintextPort(8476, "as-signon", 9476),
)


@dataclass(frozen=True)
class PlaintextSettings:
    """`ports` replaces the whole default table; entries may be PlaintextPort or TOML inline tables."""

    ports: tuple[PlaintextPort, ...] = DEFAULT_PORTS
    max_listed: int = 10  # addresses named per list in a finding's details; the rest are counted

    def __post_init__(self) -> None:
        if isinstance(self.ports, str | bytes) or not isinstance(self.ports, Iterable):
            raise ValueError(f"ports must be a list of port tables, not {self.ports!r}")
        ports: list[PlaintextPort] = []
        for index, entry in enumerate(self.ports):
            try:
                if isinstance(entry, PlaintextPort):
                    ports.append(entry)
                elif isinstance(entry, Mapping):
                    ports.append(PlaintextPort.from_mapping(entry))
                else:
                    raise ValueError(f'expected a table such as {{port = 23, service = "telnet"}}, not {entry!r}')
            except (TypeError, ValueError) as error:
                raise ValueError(f"ports[{index}]: {error}") from None
        seen: set[int] = set()
        for entry in ports:
            if entry.port in seen:
                raise ValueError(f"ports: port {entry.port} is listed twice")
            seen.add(entry.port)
        object.__setattr__(self, "ports", tuple(ports))
        if isinstance(self.max_listed, bool) or not isinstance(self.max_listed, int) or self.max_listed < 1:
            raise ValueError(f"max_listed must be a whole number of at least 1, not {self.max_listed!r}")


DEFAULT_SETTINGS = PlaintextSettings()


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
    return _peer(connection.remote_address, trusted)


def _peer(text: str | None, trusted: TrustList) -> Peer | None:
    address = parse_address(text)
    if address is None:
        # Never guess "fine": an unreadable peer on a plaintext port is reported, as untrusted.
        return Peer((text or "").strip() or "(blank)", trusted=False, parsed=False)
    if is_local(address):
        return None
    return Peer(address.compressed, trusted=address in trusted, parsed=True)


@dataclass
class _Tally:
    peer: Peer
    connections: int = 0

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Untrusted first; then IPv4 before IPv6, in address order; text that is not an address last."""
        peer = self.peer
        if peer.parsed:
            address = ipaddress.ip_address(peer.address)
            return (peer.trusted, 0, address.version, int(address), "")
        return (peer.trusted, 1, 0, 0, peer.address)


def evaluate(
    system: str,
    connections: Sequence[NetstatConnection],
    trusted: TrustList,
    settings: PlaintextSettings = DEFAULT_SETTINGS,
) -> list[Finding]:
    """One finding per plaintext port in `settings.ports` with established remote connections."""
    if not any(c.is_listening for c in connections):
        return [cannot_see(system)]
    table = {entry.port: entry for entry in settings.ports}
    by_port: dict[int, dict[str, _Tally]] = {}
    peers: dict[str | None, Peer | None] = {}  # NETSTAT repeats addresses: judge each text once
    for connection in connections:
        entry = table.get(connection.local_port)
        if entry is None or not connection.is_established:
            continue
        text = connection.remote_address
        if text not in peers:
            peers[text] = _peer(text, trusted)
        peer = peers[text]
        if peer is None:
            continue
        tallies = by_port.setdefault(entry.port, {})
        tally = tallies.get(peer.address)
        if tally is None:
            tally = tallies[peer.address] = _Tally(peer)
        tally.connections += 1
    return [
        _finding(system, table[port], sorted(tallies.values(), key=lambda t: t.sort_key), settings.max_listed)
        for port, tallies in sorted(by_port.items())
    ]


def cannot_see(system: str, reason: str | None = None) -> Finding:
    """Connections could not be read, or the result is implausibly empty: never "no plaintext sign-ons"."""
    return netstat_not_visible(system, CHECK_ID, "Connections over plaintext services", reason)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _listing(tallies: list[_Tally], limit: int) -> str:
    named = [
        t.peer.address
        + (f" ({t.connections} connections)" if t.connections > 1 else "")
        + ("" if t.peer.parsed else " (not an IP address as read)")
        for t in tallies[:limit]
    ]
    rest = len(tallies) - len(named)
    return ", ".join(named) + (f" and {rest} more" if rest else "")


def _cap(severity: str, ceiling: str) -> str:
    return severity if _RANK[severity] <= _RANK[ceiling] else ceiling


def _finding(system: str, entry: PlaintextPort, tallies: list[_Tally], limit: int) -> Finding:
    untrusted = [t for t in tallies if not t.peer.trusted]
    trusted = [t for t in tallies if t.peer.trusted]
    total = sum(t.connections for t in tallies)
    wanted = "critical" if untrusted else "warning"
    severity = _cap(wanted, entry.max_severity)

    details = []
    if untrusted:
        details.append(f"Untrusted: {_listing(untrusted, limit)}")
    if trusted:
        details.append(f"Trusted: {_listing(trusted, limit)}")
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
            f"{_plural(len(tallies), 'address', 'addresses')}, "
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
            "addresses": [
                {"address": t.peer.address, "trusted": t.peer.trusted, "connections": t.connections} for t in tallies
            ],
        },
    )
