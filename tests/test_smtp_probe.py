"""The relay probe against a real SMTP server (aiosmtpd) on the loopback interface."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bot.checks.smtp_relay.probe import ProbeResult, ProbeSettingError, probe_relay
from tests.thread_states import wait_until

SENDER = "relay-probe@example.org"
OUTSIDE = "relay-probe@example.com"
LOCAL_DOMAIN = "ibmi.example.net"


class RecordingHandler:
    """Records every command the server saw. `rcpt_reply` decides the answer to RCPT."""

    def __init__(self, rcpt_reply: Any = None, mail_reply: str | None = None, ehlo_reply: str | None = None):
        self.commands: list[str] = []
        self.data_received = False
        self.rcpt_reply = rcpt_reply
        self.mail_reply = mail_reply
        self.ehlo_reply = ehlo_reply

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.commands.append("EHLO")
        if self.ehlo_reply:
            return [self.ehlo_reply]
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self.commands.append("HELO")
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.commands.append("MAIL")
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.commands.append("RCPT")
        reply = self.rcpt_reply(address) if callable(self.rcpt_reply) else self.rcpt_reply
        if reply is None or reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply or "250 OK"

    async def handle_RSET(self, server, session, envelope):
        self.commands.append("RSET")
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        self.commands.append("QUIT")
        return "221 Bye"

    async def handle_DATA(self, server, session, envelope):
        self.commands.append("DATA")
        self.data_received = True
        return "250 Message accepted for delivery"


def closed_relay(address: str) -> str:
    """A server that relays for nobody: only its own domain is accepted."""
    if address.lower().endswith("@" + LOCAL_DOMAIN):
        return "250 OK"
    return "550 5.7.1 Relaying denied"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(handler: RecordingHandler) -> Iterator[int]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    handler.commands.clear()  # the controller's own readiness connection is not part of a test
    try:
        yield controller.port
    finally:
        controller.stop()


def wait_for(handler: RecordingHandler, command: str) -> None:
    """The server handles QUIT after the client has already moved on."""
    wait_until(lambda: command in handler.commands)


def probe(port: int, **kwargs: Any) -> ProbeResult:
    arguments: dict[str, Any] = {"sender": SENDER, "recipient": OUTSIDE, "timeout": 5.0, "helo_name": "warden.test"}
    arguments.update(kwargs)
    return probe_relay("127.0.0.1", port, **arguments)


def test_open_relay_is_accepted_and_no_data_is_ever_sent():
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        result = probe(port)
        wait_for(handler, "QUIT")
    assert result.accepted is True
    assert (result.stage, result.code, result.error) == ("rcpt", 250, None)
    assert result.verdict == "relay accepted" and result.reached_server
    assert result.local_address == "127.0.0.1" and (result.host, result.port) == ("127.0.0.1", port)
    assert handler.commands == ["EHLO", "MAIL", "RCPT", "RSET", "QUIT"]
    assert handler.data_received is False
    sent = [line for line in result.transcript if line.startswith("C: ")]
    assert sent[1:] == [
        "C: EHLO warden.test",
        f"C: MAIL FROM:<{SENDER}>",
        f"C: RCPT TO:<{OUTSIDE}>",
        "C: RSET",
        "C: QUIT",
    ]
    assert not any("DATA" in line for line in sent)
    assert result.transcript[1].startswith("S: 220")


def test_closed_relay_is_refused_at_rcpt_and_no_data_is_ever_sent():
    handler = RecordingHandler(rcpt_reply=closed_relay)
    with smtp_server(handler) as port:
        result = probe(port)
        wait_for(handler, "QUIT")
    assert result.accepted is False
    assert (result.stage, result.code, result.message) == ("rcpt", 550, "5.7.1 Relaying denied")
    assert result.summary() == "relay refused at rcpt: 550 5.7.1 Relaying denied"
    assert "S: 550 5.7.1 Relaying denied" in result.transcript
    assert handler.commands == ["EHLO", "MAIL", "RCPT", "RSET", "QUIT"]
    assert handler.data_received is False


def test_the_closed_server_still_takes_its_own_domain_so_the_probe_reads_the_rcpt_answer():
    handler = RecordingHandler(rcpt_reply=closed_relay)
    with smtp_server(handler) as port:
        result = probe(port, recipient=f"postmaster@{LOCAL_DOMAIN}")
    assert result.accepted is True and handler.data_received is False


@pytest.mark.parametrize("reply", ["551 5.7.1 User not local", "553 5.7.1 Not allowed", "554 5.7.1 Denied"])
def test_every_refusal_code_means_refused(reply: str):
    handler = RecordingHandler(rcpt_reply=reply)
    with smtp_server(handler) as port:
        result = probe(port)
    assert result.accepted is False and result.code == int(reply[:3])


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "450 4.7.1 Greylisted", "502 5.5.2 Not here"])
def test_temporary_or_unexpected_rcpt_replies_are_inconclusive(reply: str):
    handler = RecordingHandler(rcpt_reply=reply)
    with smtp_server(handler) as port:
        result = probe(port)
    assert result.accepted is None and result.error is None
    assert result.stage == "rcpt" and result.code == int(reply[:3])
    assert result.summary().startswith("inconclusive at rcpt: ")
    assert handler.data_received is False


def test_a_refused_sender_is_inconclusive_and_rcpt_is_never_tried():
    handler = RecordingHandler(mail_reply="553 5.1.8 Sender domain unknown")
    with smtp_server(handler) as port:
        result = probe(port)
        wait_for(handler, "QUIT")
    assert (result.accepted, result.stage, result.code) == (None, "mail", 553)
    assert handler.commands == ["EHLO", "MAIL", "RSET", "QUIT"]


def test_helo_is_used_when_ehlo_is_not_understood():
    handler = RecordingHandler(ehlo_reply="502 5.5.1 EHLO not implemented")
    with smtp_server(handler) as port:
        result = probe(port)
        wait_for(handler, "QUIT")
    assert result.accepted is True
    assert handler.commands == ["EHLO", "HELO", "MAIL", "RCPT", "RSET", "QUIT"]
    assert "C: HELO warden.test" in result.transcript


def test_without_a_helo_name_the_probe_greets_with_its_address_literal():
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        result = probe(port, helo_name=None)
    assert "C: EHLO [127.0.0.1]" in result.transcript and result.accepted is True


def test_nothing_listening_is_inconclusive_with_an_error():
    result = probe(free_port())
    assert result.accepted is None and result.code is None
    assert result.stage == "connect"
    assert result.error is not None and "connection refused" in result.error
    assert not result.reached_server
    assert result.summary().startswith("inconclusive at connect: connection refused")


def test_a_server_that_accepts_but_never_speaks_times_out_quickly():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
        thread.start()
        started = time.monotonic()
        result = probe(port, timeout=0.3)
        elapsed = time.monotonic() - started
        thread.join(5)
        for connection in accepted:
            connection.close()
    assert result.accepted is None and result.code is None
    assert result.stage == "greeting"
    assert result.error is not None and result.error.startswith("timed out") and "greeting" in result.error
    assert elapsed < 5


def test_server_replies_are_cleaned_before_they_are_kept():
    handler = RecordingHandler(rcpt_reply="550 " + "x" * 500)
    with smtp_server(handler) as port:
        result = probe(port)
    assert result.accepted is False
    assert len(result.message) <= 200 and result.message.endswith("…")


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"sender": "probe@example.org\r\nDATA"}, "sender"),
        ({"sender": "<probe@example.org>"}, "sender"),
        ({"sender": "Probe <probe@example.org>"}, "sender"),
        ({"recipient": "nobody"}, "recipient"),
        ({"recipient": "nobody@localhost"}, "recipient"),
        ({"recipient": "a" * 250 + "@example.com"}, "recipient"),
        ({"recipient": "x@example.com\nRCPT TO:<y@example.com>"}, "recipient"),
        ({"host": "mail.example.com\r\n"}, "host"),
        ({"host": "two words"}, "host"),
        ({"host": ""}, "host"),
        ({"port": 0}, "port"),
        ({"port": True}, "port"),
        ({"timeout": 0}, "timeout"),
        ({"helo_name": "bad name"}, "helo_name"),
    ],
)
def test_arguments_are_validated_before_anything_is_sent(arguments: dict[str, Any], argument: str):
    call: dict[str, Any] = {"host": "127.0.0.1", "port": 25, "sender": SENDER, "recipient": OUTSIDE}
    call.update(arguments)
    with pytest.raises(ProbeSettingError) as raised:
        probe_relay(call.pop("host"), call.pop("port"), **call)
    assert raised.value.argument == argument and str(raised.value).startswith(argument + ": ")
