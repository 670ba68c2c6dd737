"""HTTP mode before a signature is checked: waitress's limits and the body guard on a real server, request bodies
kept out of the log, and a signed command still answered while slow clients hold connections."""

from __future__ import annotations

import io
import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.cli import build_parser
from bot.config import HttpSettings, Secrets
from bot.http_limits import limit_request_bodies, waitress_options
from bot.logging_setup import MAX_MESSAGE_CHARS, configure_logging
from bot.runtime import Runner
from bot.wiring import build_app, build_bot
from tests.slack_server import SlackTestServer, sign_request
from tests.test_slack_e2e import SIGNING_SECRET, make_config

LIMIT = 64 * 1024
FORGED = "2026-01-01 12:00:00,000 INFO bot.approvals: request R1 approved by U0APPROVER"


class HttpBot:
    """The real app on waitress at 127.0.0.1, port 0, with `settings` as [http]; counts the requests Bolt saw."""

    def __init__(self, slack: SlackTestServer, folder: Path, settings: HttpSettings):
        config = replace(make_config(folder), http=settings)
        secrets = Secrets(
            slack_bot_token=slack.bot_token, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.base_url
        )
        self.bot = build_bot(config, secrets)
        self.app = build_app(self.bot, secrets, http=True)
        self.runner = Runner(self.app, self.bot, http_port=0, schedule_checks=False, deliver=False)
        self.runner.start()
        self.port = self.runner.http_port
        self.url = f"http://127.0.0.1:{self.port}/slack/events"

    def stop(self) -> None:
        self.runner.stop()

    def post(self, body: bytes, headers: dict[str, str], timeout: float = 20) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def help(self, slack: SlackTestServer) -> tuple[int, bytes]:
        body = slack.slash_command_form("help", user_id="U01OPERATOR", response_url=slack.new_response_url())
        return self.post(body.encode(), sign_request(body, SIGNING_SECRET))

    def raw(self, head: bytes, body: bytes = b"") -> bytes:
        """Send bytes on a socket of its own; everything the server answers until it closes the connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as sock:
            sock.sendall(head + body)
            return read_until_closed(sock)


def read_until_closed(sock: socket.socket) -> bytes:
    """Block until the server closes the connection (the socket's timeout bounds the wait)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer(scopes="chat:write,commands") as server:
        yield server


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bodies Bolt's WSGI adapter was handed (methods are looked up on the class at each call)."""
    bodies: list[str] = []
    handle = SlackRequestHandler.__call__

    def recording(self: SlackRequestHandler, environ: dict[str, Any], start_response: Any) -> Any:
        bodies.append(environ.get("CONTENT_LENGTH", ""))
        return handle(self, environ, start_response)

    monkeypatch.setattr(SlackRequestHandler, "__call__", recording)
    return bodies


@pytest.fixture
def bot(slack: SlackTestServer, tmp_path: Path, seen: list[str]) -> Iterator[HttpBot]:
    bot = HttpBot(slack, tmp_path, HttpSettings(max_body_bytes=LIMIT))
    yield bot
    bot.stop()


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("slack_bolt", "apscheduler")}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


# --- where it listens -----------------------------------------------------------------------------------


def test_http_mode_listens_on_loopback_unless_told_otherwise() -> None:
    assert HttpSettings().host == "127.0.0.1"
    assert build_parser().parse_args(["run", "--http", "3000"]).host is None  # then [http] host
    assert build_parser().parse_args(["run", "--http", "3000", "--host", "0.0.0.0"]).host == "0.0.0.0"
    assert Runner.__init__.__defaults__ is not None and "127.0.0.1" in Runner.__init__.__defaults__


def test_waitress_gets_limits_suited_to_slack() -> None:
    options = waitress_options(HttpSettings(max_body_bytes=LIMIT, channel_timeout=2.5, connection_limit=7, threads=3))
    assert options["max_request_body_size"] == LIMIT + 1  # waitress refuses its limit itself; the guard above it
    assert options["channel_timeout"] == 3 and options["cleanup_interval"] == 1
    assert options["connection_limit"] == 7 and options["threads"] == 3 and options["asyncore_use_poll"]
    assert options["max_request_header_size"] <= 64 * 1024 and not options["expose_tracebacks"]


# --- bodies: refused by size before they are read ---------------------------------------------------------


def test_a_body_declared_too_large_is_refused_at_once_unread_and_unseen(bot: HttpBot, seen: list[str]) -> None:
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    answer = bot.raw(head)  # not one byte of the 100 MB follows: the answer comes from the headers alone
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert seen == []


def test_a_chunked_body_growing_past_the_limit_is_refused_unseen(bot: HttpBot, seen: list[str]) -> None:
    head = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (16 * 1024, b"a" * 16 * 1024)
    answer = bot.raw(head, chunk * 5)  # 80 KiB against a 64 KiB limit, never terminated
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert seen == []


def test_bodies_within_the_limit_still_reach_bolt(bot: HttpBot, slack: SlackTestServer, seen: list[str]) -> None:
    status, _ = bot.post(b"x" * LIMIT, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401 and seen == [str(LIMIT)]  # read, then refused by the signature check
    status, answer = bot.help(slack)
    assert status == 200 and "/ibmi netstat" in answer.decode()


def start_response_recorder() -> tuple[list[str], Any]:
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    return statuses, start_response


class UnreadableInput:
    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")


@pytest.mark.parametrize(
    ("environ", "status"),
    [
        ({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(LIMIT + 1)}, "413 Content Too Large"),
        ({"REQUEST_METHOD": "POST"}, "411 Length Required"),
        ({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": ""}, "411 Length Required"),
        ({"REQUEST_METHOD": "POST", "HTTP_TRANSFER_ENCODING": "chunked"}, "411 Length Required"),
        ({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "-1"}, "400 Bad Request"),
        ({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "12abc"}, "400 Bad Request"),
    ],
)
def test_the_guard_answers_without_reading_or_calling_the_app(environ: dict[str, Any], status: str) -> None:
    called: list[dict[str, Any]] = []
    guarded = limit_request_bodies(lambda env, start: called.append(env) or [b""], LIMIT)
    statuses, start_response = start_response_recorder()
    body = b"".join(guarded({**environ, "wsgi.input": UnreadableInput()}, start_response))
    assert statuses == [status] and called == [] and body.endswith(b"\n")


@pytest.mark.parametrize(
    "environ",
    [
        {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(LIMIT)},
        {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "0"},
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"},
    ],
)
def test_the_guard_passes_requests_within_the_limit(environ: dict[str, Any]) -> None:
    called: list[dict[str, Any]] = []
    guarded = limit_request_bodies(lambda env, start: called.append(env) or [b"ok"], LIMIT)
    assert list(guarded(environ, start_response_recorder()[1])) == [b"ok"] and len(called) == 1


# --- slow clients ------------------------------------------------------------------------------------------


def test_slow_clients_are_closed_after_the_channel_timeout_and_a_signed_command_gets_through(
    slack: SlackTestServer, tmp_path: Path
) -> None:
    # connection_limit counts waitress's own listening socket and wake-up pipe too: 3 clients at a time here
    bot = HttpBot(slack, tmp_path, HttpSettings(channel_timeout=1, connection_limit=5))
    slow: list[socket.socket] = []
    try:
        for _ in range(6):  # each sends half a request, then nothing: twice as many as there are slots
            sock = socket.create_connection(("127.0.0.1", bot.port), timeout=20)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Le")
            slow.append(sock)
        status, answer = bot.help(slack)  # waits in the listen queue until idle connections are closed
        assert status == 200 and "/ibmi netstat" in answer.decode()
        for sock in slow:
            assert read_until_closed(sock) == b""  # closed by the server, without an answer
    finally:
        for sock in slow:
            sock.close()
        bot.stop()


# --- the log -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_an_unsigned_body_never_reaches_the_log_as_more_than_one_bounded_line(
    slack: SlackTestServer, tmp_path: Path, root_logging: None, level: str
) -> None:
    stream = io.StringIO()
    configure_logging(level, stream=stream)
    bot = HttpBot(slack, tmp_path, HttpSettings())
    try:
        body = f"command=/ibmi&text=x\n{FORGED}\n".encode() + b"y" * 500_000
        status, _ = bot.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 401
        bot.help(slack)
    finally:
        bot.stop()
    lines = stream.getvalue().splitlines()
    assert lines and max(len(line) for line in lines) <= MAX_MESSAGE_CHARS + 200
    assert not any(line.startswith(FORGED) for line in lines)
    if level == "INFO":  # Bolt's "Invalid request signature detected (… body: …)" is an INFO line
        assert "approved by U0APPROVER" not in stream.getvalue()
    else:
        assert any("\\n" + FORGED in line for line in lines)  # shown escaped, inside Bolt's own line


def test_json_health_and_unknown_paths_are_unaffected(bot: HttpBot) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{bot.port}/healthz", timeout=10) as response:
        assert response.read() == b"ok\n"
    status, answer = bot.post(b"{}", {"Content-Type": "application/json"})
    assert status == 401 and json.loads(answer) == {"error": "invalid request"}
