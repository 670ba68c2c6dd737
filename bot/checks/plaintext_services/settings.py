"""The [checks.plaintext-services] settings: the plaintext port table and how many addresses a finding lists.

The default table comes from IBM's port lists (see the rules' docstring for the sources).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.checks.finding import SEVERITIES

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
