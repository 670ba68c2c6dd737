"""The CL commands the bot builds: each holds only validated values, so `to_cl()` never carries free text."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar, Self

from bot.ibmi.cl.values import (
    CLValidationError,
    IPAddress,
    _canonical,
    _check_remote,
    _ip_address,
    _ipv4_address,
    _list_type,
    _mask,
    _port,
    _relay_policy,
    quote_cl_string,
    show,
)
from bot.net.address import render_address

LIBRARY = "QSYS"  # every command is qualified, so no same-named command earlier in the library list runs instead


@dataclass(frozen=True)
class EndTcpConnection:
    """ENDTCPCNN for one TCP connection, with its addresses and ports as NETSTAT shows them.

    IPv4-mapped IPv6 addresses are kept as given, since the connection is identified by them.
    """

    local_address: IPAddress
    local_port: int
    remote_address: IPAddress
    remote_port: int

    cl_name: ClassVar[str] = "ENDTCPCNN"

    def __post_init__(self) -> None:
        _canonical("LCLINTNETA", self.local_address, _ip_address)
        _canonical("LCLPORT", self.local_port, _port)
        _canonical("RMTINTNETA", self.remote_address, _ip_address)
        _canonical("RMTPORT", self.remote_port, _port)
        _check_remote(self.local_address, self.remote_address)

    @classmethod
    def build(
        cls,
        local_address: str | IPAddress,
        local_port: int | str,
        remote_address: str | IPAddress,
        remote_port: int | str,
    ) -> Self:
        return cls(
            _ip_address("LCLINTNETA", local_address),
            _port("LCLPORT", local_port),
            _ip_address("RMTINTNETA", remote_address),
            _port("RMTPORT", remote_port),
        )

    def to_cl(self) -> str:
        return (
            f"{LIBRARY}/{self.cl_name} PROTOCOL(*TCP) LCLINTNETA({quote_cl_string(render_address(self.local_address))})"
            f" LCLPORT({self.local_port}) RMTINTNETA({quote_cl_string(render_address(self.remote_address))})"
            f" RMTPORT({self.remote_port})"
        )


@dataclass(frozen=True)
class _SmtpListEntry:
    list_type: str
    address: ipaddress.IPv4Address
    mask: ipaddress.IPv4Address

    cl_name: ClassVar[str]

    def __post_init__(self) -> None:
        _canonical("TYPE", self.list_type, _list_type)
        _canonical("INTNETADR", self.address, _ipv4_address)
        _canonical("SUBNETMASK", self.mask, _mask)

    @classmethod
    def build(
        cls,
        list_type: str,
        address: str | ipaddress.IPv4Address,
        mask: str | int | ipaddress.IPv4Address | None = None,
    ) -> Self:
        """list_type: *ACCEPT or *REJECT in any case, with or without the asterisk.

        mask: dotted (255.255.255.0), a prefix length (24 or "/24"), or None for a single host.
        """
        return cls(_list_type("TYPE", list_type), _ipv4_address("INTNETADR", address), _mask("SUBNETMASK", mask))

    def to_cl(self) -> str:
        return (
            f"{LIBRARY}/{self.cl_name} TYPE({self.list_type}) INTNETADR({quote_cl_string(str(self.address))})"
            f" SUBNETMASK({quote_cl_string(str(self.mask))})"
        )


@dataclass(frozen=True)
class AddSmtpListEntry(_SmtpListEntry):
    """ADDSMTPLE: add an address and mask to the *ACCEPT (relay) or *REJECT list."""

    cl_name: ClassVar[str] = "ADDSMTPLE"


@dataclass(frozen=True)
class RemoveSmtpListEntry(_SmtpListEntry):
    """RMVSMTPLE: remove an address and mask from the *ACCEPT or *REJECT list.

    IBM's RMVSMTPLE parameters are unconfirmed; they are assumed to mirror ADDSMTPLE.
    """

    cl_name: ClassVar[str] = "RMVSMTPLE"


@dataclass(frozen=True)
class ChangeSmtpRelay:
    """CHGSMTPA ALWRLY: who may relay mail through the SMTP server."""

    allow_relay: str

    cl_name: ClassVar[str] = "CHGSMTPA"

    def __post_init__(self) -> None:
        _canonical("ALWRLY", self.allow_relay, _relay_policy)

    @classmethod
    def build(cls, allow_relay: str) -> Self:
        """allow_relay: one of RELAY_POLICIES, in any case, with or without the asterisk."""
        return cls(_relay_policy("ALWRLY", allow_relay))

    def to_cl(self) -> str:
        return f"{LIBRARY}/{self.cl_name} ALWRLY({self.allow_relay})"


SMTP_SERVER = "*SMTP"


def _smtp_server(parameter: str, value: object) -> str:
    if not isinstance(value, str) or value.strip(" ").upper() not in (SMTP_SERVER, SMTP_SERVER[1:]):
        raise CLValidationError(parameter, f"{show(value)} is not a server this bot ends or starts", SMTP_SERVER)
    return SMTP_SERVER


@dataclass(frozen=True)
class _TcpServerCommand:
    """ENDTCPSVR / STRTCPSVR for the SMTP server only: the bot restarts SMTP so that list changes take effect."""

    server: str = SMTP_SERVER

    cl_name: ClassVar[str]

    def __post_init__(self) -> None:
        _canonical("SERVER", self.server, _smtp_server)

    @classmethod
    def build(cls, server: str = SMTP_SERVER) -> Self:
        """server: *SMTP (any case, with or without the asterisk); any other server is refused."""
        return cls(_smtp_server("SERVER", server))

    def to_cl(self) -> str:
        return f"{LIBRARY}/{self.cl_name} SERVER({self.server})"


@dataclass(frozen=True)
class EndTcpServer(_TcpServerCommand):
    """ENDTCPSVR SERVER(*SMTP): end the SMTP server jobs."""

    cl_name: ClassVar[str] = "ENDTCPSVR"


@dataclass(frozen=True)
class StartTcpServer(_TcpServerCommand):
    """STRTCPSVR SERVER(*SMTP): start the SMTP server jobs, which read the SMTP lists as they start."""

    cl_name: ClassVar[str] = "STRTCPSVR"


ClCommand = EndTcpConnection | AddSmtpListEntry | RemoveSmtpListEntry | ChangeSmtpRelay | EndTcpServer | StartTcpServer
