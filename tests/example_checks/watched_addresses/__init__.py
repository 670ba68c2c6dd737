"""watched-addresses: an example fifth check, living only in the tests, to show that a check is one folder.

Established connections from addresses on a watch list (`networks`), one finding per address. It
reads the shared NETSTAT source, so a cycle still reads NETSTAT_INFO once.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from bot.checks.definition import CheckDefinition, CheckTarget, Readings
from bot.checks.finding import SEVERITIES, Finding
from bot.checks.sources import NETSTAT
from bot.ibmi.rows import NetstatConnection, parse_address

CHECK_ID = "watched-addresses"


@dataclass(frozen=True)
class WatchedSettings:
    networks: tuple[str, ...] = ()  # CIDR networks to watch
    severity: str = "critical"

    def __post_init__(self) -> None:
        for network in self.networks:
            try:
                ipaddress.ip_network(network)
            except (TypeError, ValueError):
                raise ValueError(f"networks: {network!r} is not a network") from None
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity: {self.severity!r} is not one of {', '.join(SEVERITIES)}")


def evaluate(system: str, connections: list[NetstatConnection], settings: WatchedSettings) -> list[Finding]:
    watched = [ipaddress.ip_network(network) for network in settings.networks]
    by_address: dict[str, int] = {}
    for connection in connections:
        address = parse_address(connection.remote_address) if connection.is_established else None
        if address is not None and any(address in network for network in watched):
            by_address[address.compressed] = by_address.get(address.compressed, 0) + 1
    return [
        Finding(
            system=system,
            check=CHECK_ID,
            severity=settings.severity,
            subject=address,
            title=f"{count} connection{'s' if count > 1 else ''} from watched address {address}",
            facts={"remote_address": address},
        )
        for address, count in sorted(by_address.items())
    ]


def evaluate_readings(readings: Readings, target: CheckTarget, settings: WatchedSettings) -> list[Finding]:
    return evaluate(target.name, readings.optional(NETSTAT.name) or [], settings)


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="Connections from watched addresses",
    default_interval=300.0,
    sources=(NETSTAT,),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=WatchedSettings,
    about_address=True,
    order=90,
)
