"""The optional active relay probe: ask an SMTP server to relay, and stop before any mail is sent.

No documented way to read CHGSMTPA ALWRLY was found (runbook.md), so the only direct
evidence of how the SMTP server treats relaying is its answer. The probe connects, greets (EHLO,
falling back to HELO), gives an outside sender (MAIL FROM) and an outside recipient (RCPT TO), reads
the answer to RCPT, then resets (RSET) and leaves (QUIT). It never sends DATA, so no message is
ever transferred, queued or delivered.

What the answer means:

- 250 or 251 to RCPT: the server agreed to relay for the probe's address (`accepted=True`);
- 550, 551, 553 or 554 to RCPT: the server refused (`accepted=False`);
- 4xx, any other reply, a refused sender or greeting, or a network error: inconclusive
  (`accepted=None`), with `error` set when the conversation could not be held at all.

A server may take a recipient at RCPT and refuse later, after DATA; the probe cannot see that
and reports what RCPT said.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACCEPTED_CODES = frozenset({250, 251})
REFUSED_CODES = frozenset({550, 551, 553, 554})

MAX_ADDRESS_LENGTH = 254
MAX_HOST_LENGTH = 253
MAX_TIMEOUT = 300.0
_SHOWN_REPLY = 200  # characters of one server reply line kept in the transcript and message

# A plain address: dot-atom local part, a domain of DNS labels (at least two). No quoted local
# parts, no address literals, no display names, no angle brackets, no whitespace.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ProbeSettingError(ValueError):
    """A probe argument is not acceptable. `argument` names it; the message says what was expected."""

    def __init__(self, argument: str, message: str):
        self.argument = argument
        super().__init__(f"{argument}: {message}")


@dataclass(frozen=True)
class ProbeResult:
    """What the relay probe saw.

    accepted: True = RCPT accepted (relay allowed for the probe's address), False = refused,
      None = inconclusive (temporary refusal, unexpected reply, or no conversation; see `error`).
    stage: the step that decided the result: connect, greeting, ehlo, helo, mail or rcpt.
    code / message: the server's reply at that stage (None / "" when there was none).
    transcript: the dialogue, "C: …" for what the probe sent and "S: …" for each reply line.
    error: why the conversation could not be held (connection refused, timeout, …), else None.
    """

    accepted: bool | None
    stage: str
    code: int | None
    message: str
    transcript: tuple[str, ...] = ()
    error: str | None = None
    host: str = ""
    port: int = 25
    local_address: str | None = None  # the address the probe connected from, as the server sees it
    sender: str = ""
    recipient: str = ""

    @property
    def reached_server(self) -> bool:
        """True when an SMTP server answered at all (so something is listening and speaking SMTP)."""
        return any(line.startswith("S: ") for line in self.transcript)

    @property
    def verdict(self) -> str:
        if self.accepted is True:
            return "relay accepted"
        if self.accepted is False:
            return "relay refused"
        return "inconclusive"

    def summary(self) -> str:
        """One line: the verdict and the reply (or the error) that decided it."""
        if self.error:
            return f"{self.verdict} at {self.stage}: {self.error}"
        reply = f"{self.code} {self.message}".strip() if self.code is not None else "no reply"
        return f"{self.verdict} at {self.stage}: {reply}"


def validate_address(argument: str, value: object) -> str:
    """A plain mail address (local@domain.tld), at most 254 characters, with no CR, LF or spaces."""
    if not isinstance(value, str):
        raise ProbeSettingError(argument, f"{value!r} is not text; expected a mail address such as probe@example.com")
    if _CONTROL.search(value):
        raise ProbeSettingError(argument, "contains a control character (CR, LF, …); expected a plain mail address")
    if len(value) > MAX_ADDRESS_LENGTH:
        raise ProbeSettingError(argument, f"is {len(value)} characters long; at most {MAX_ADDRESS_LENGTH} are allowed")
    local, _, domain = value.rpartition("@")
    if not _ADDRESS.fullmatch(value) or len(local) > 64 or len(domain) > MAX_HOST_LENGTH:
        raise ProbeSettingError(
            argument, f"{value!r} is not a plain mail address; expected local@domain.tld, without <> or a name"
        )
    return value


def validate_host(argument: str, value: object) -> str:
    """A host name or an IPv4/IPv6 address, with no spaces or control characters."""
    if not isinstance(value, str) or not value:
        raise ProbeSettingError(argument, f"{value!r} is not a host; expected a host name or an IP address")
    if _CONTROL.search(value):
        raise ProbeSettingError(argument, "contains a control character; expected a host name or an IP address")
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        pass
    if len(value) > MAX_HOST_LENGTH or not _HOST_NAME.fullmatch(value):
        raise ProbeSettingError(argument, f"{value!r} is not a host name or an IP address")
    return value


def validate_helo_name(argument: str, value: object) -> str:
    """The name given in EHLO/HELO: a host name, or an address sent as an address literal ([192.0.2.1])."""
    host = validate_host(argument, value)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[IPv6:{address.compressed}]" if address.version == 6 else f"[{address}]"


def validate_port(argument: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ProbeSettingError(argument, f"{value!r} is not a port; expected a whole number from 1 to 65535")
    return value


def validate_timeout(argument: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TIMEOUT:
        raise ProbeSettingError(
            argument, f"{value!r} is not a timeout; expected a duration like '10s' or seconds, more than 0, at most 300"
        )
    return float(value)


def probe_relay(
    host: str,
    port: int = 25,
    *,
    sender: str,
    recipient: str,
    timeout: float = 10.0,
    helo_name: str | None = None,
) -> ProbeResult:
    """Ask the SMTP server at host:port to relay from `sender` to `recipient` (an outside domain).

    Never sends DATA. Raises ProbeSettingError for bad arguments; every network or protocol outcome
    is a ProbeResult, never an exception.
    """
    host = validate_host("host", host)
    port = validate_port("port", port)
    sender = validate_address("sender", sender)
    recipient = validate_address("recipient", recipient)
    timeout = validate_timeout("timeout", timeout)
    if helo_name is not None:
        helo_name = validate_helo_name("helo_name", helo_name)
    return _Probe(host, port, sender, recipient, timeout, helo_name).run()


class _Probe:
    def __init__(
        self, host: str, port: int, sender: str, recipient: str, timeout: float, helo_name: str | None
    ) -> None:
        self.host, self.port, self.sender, self.recipient = host, port, sender, recipient
        self.timeout = timeout
        self.helo_name = helo_name
        self.transcript: list[str] = []
        self.local_address: str | None = None
        self.stage = "connect"

    def run(self) -> ProbeResult:
        # local_hostname is given so smtplib does not look up this host's FQDN in the constructor;
        # the name actually sent is chosen in _greet.
        smtp = _SmtpClient(self._connected, local_hostname=self.helo_name or "localhost", timeout=self.timeout)
        try:
            return self._converse(smtp)
        except (OSError, smtplib.SMTPException) as error:
            return self._result(None, None, "", error=self._describe(error))
        finally:
            smtp.close()

    def _converse(self, smtp: smtplib.SMTP) -> ProbeResult:
        self.transcript.append(f"C: (connect to {self.host} port {self.port})")
        code, text = smtp.connect(self.host, self.port)
        self._heard(code, text)
        if code != 220:
            self._leave(smtp, reset=False)
            return self._result(None, code, _first_line(text))

        code, text = self._greet(smtp)
        if not 200 <= code < 300:
            self._leave(smtp, reset=False)
            return self._result(None, code, _first_line(text))

        self.stage = "mail"
        code, text = self._send(smtp, "MAIL", f"FROM:<{self.sender}>")
        if not 200 <= code < 300:
            self._leave(smtp, reset=True)
            return self._result(None, code, _first_line(text))

        self.stage = "rcpt"
        code, text = self._send(smtp, "RCPT", f"TO:<{self.recipient}>")
        self._leave(smtp, reset=True)
        if code in ACCEPTED_CODES:
            accepted: bool | None = True
        elif code in REFUSED_CODES:
            accepted = False
        else:
            accepted = None
        return self._result(accepted, code, _first_line(text))

    def _connected(self, sock: socket.socket) -> None:
        """The TCP connection is up: from here on the probe waits for the server's greeting."""
        self.stage = "greeting"
        self.local_address = _local_address(sock)

    def _greet(self, smtp: smtplib.SMTP) -> tuple[int, bytes]:
        name = self.helo_name or _default_helo_name(self.local_address)
        self.stage = "ehlo"
        code, text = self._send(smtp, "EHLO", name)
        if 200 <= code < 300:
            return code, text
        self.stage = "helo"
        return self._send(smtp, "HELO", name)

    def _send(self, smtp: smtplib.SMTP, command: str, argument: str = "") -> tuple[int, bytes]:
        line = f"{command} {argument}".strip()
        self.transcript.append(f"C: {line}")
        code, text = smtp.docmd(command, argument)
        self._heard(code, text)
        return code, text

    def _leave(self, smtp: smtplib.SMTP, reset: bool) -> None:
        """RSET (after MAIL) and QUIT; a failure here does not change what the probe learnt."""
        try:
            if reset:
                self._send(smtp, "RSET")
            self._send(smtp, "QUIT")
        except (OSError, smtplib.SMTPException) as error:
            self.transcript.append(f"(leaving: {self._describe(error)})")

    def _heard(self, code: int, text: bytes) -> None:
        lines = _reply_lines(text) or [""]
        for index, line in enumerate(lines):
            separator = " " if index == len(lines) - 1 else "-"
            self.transcript.append(f"S: {code}{separator}{line}".rstrip())

    def _describe(self, error: BaseException) -> str:
        cause = error.__cause__ or error.__context__
        if isinstance(error, TimeoutError) or isinstance(cause, TimeoutError):
            waiting = {"connect": "for the connection", "greeting": "for the server's greeting"}.get(
                self.stage, f"for the reply to {self.stage.upper()}"
            )
            return f"timed out: no answer within {self.timeout:g} s waiting {waiting}"
        if isinstance(error, ConnectionRefusedError):
            return f"connection refused by {self.host} port {self.port}: nothing is listening there"
        if isinstance(error, socket.gaierror):
            return f"cannot resolve {self.host}: {_clean(str(error))}"
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return f"the server closed the connection at {self.stage}: {_clean(str(error))}"
        return f"{type(error).__name__}: {_clean(str(error))}"

    def _result(self, accepted: bool | None, code: int | None, message: str, error: str | None = None) -> ProbeResult:
        return ProbeResult(
            accepted=accepted,
            stage=self.stage,
            code=code,
            message=message,
            transcript=tuple(self.transcript),
            error=error,
            host=self.host,
            port=self.port,
            local_address=self.local_address,
            sender=self.sender,
            recipient=self.recipient,
        )


class _SmtpClient(smtplib.SMTP):
    """smtplib's smtp, telling the probe when the TCP connection is up (before the greeting)."""

    def __init__(self, on_connected: Callable[[socket.socket], None], **kwargs: Any) -> None:
        self._on_connected = on_connected
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)  # type: ignore[misc]  # not in the smtplib stubs
        self._on_connected(sock)
        return sock


def _local_address(sock: socket.socket) -> str | None:
    try:
        address = sock.getsockname()[0]
    except OSError:
        return None
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.compressed


def _default_helo_name(local_address: str | None) -> str:
    """An address literal for this end of the connection (RFC 5321 4.1.3), or 'localhost'."""
    if local_address is None:
        return "localhost"
    if ":" in local_address:
        return f"[IPv6:{local_address}]"
    return f"[{local_address}]"


def _reply_lines(text: bytes) -> list[str]:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return [_clean(line) for line in decoded.split("\n")]


def _first_line(text: bytes) -> str:
    lines = _reply_lines(text)
    return lines[0] if lines else ""


def _clean(text: str) -> str:
    """A server-controlled line made safe to show: no control characters, bounded length."""
    cleaned = _CONTROL.sub(" ", text).strip()
    return cleaned if len(cleaned) <= _SHOWN_REPLY else cleaned[: _SHOWN_REPLY - 1] + "…"
