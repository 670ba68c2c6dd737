"""The real app end to end against the Slack test server: HTTP with signed requests, and Socket Mode
through slack_sdk's client. Nothing here is mocked but Slack itself."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Config, DemoSettings, Secrets, load_config
from bot.runtime import Runner
from bot.wiring import build_app, build_bot
from storage.alerts import alerts_of
from tests.slack_server import SlackTestServer, sign_request
from tests.test_cli import write_config

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_SCOPES = "channels:read,chat:write,commands,groups:read"  # what app.json asks for, but usergroups:read


def make_config(
    folder: Path, latency: float = 0.0, hung_system: bool = False, hung_deadline: float | None = 0.5
) -> Config:
    """The demo system DEMO; with hung_system, also HUNG, whose statements never answer (abandoned after
    `hung_deadline`; None: the default deadline, query_timeout plus a margin)."""
    config = load_config(write_config(folder))
    system = config.systems[0]
    demo = replace(system.demo or DemoSettings(), path=folder / "demo-ibmi", latency=latency)
    systems = (replace(system, demo=demo),)
    if hung_system:
        hung = replace(demo, path=folder / "demo-hung", hang=True)
        login = 0.5 if hung_deadline is not None else 10.0
        systems += (replace(system, name="HUNG", statement_deadline=hung_deadline, login_timeout=login, demo=hung),)
    return replace(
        config,
        systems=systems,
        storage=replace(config.storage, path=folder / "warden.db"),
        roles=replace(config.roles, viewers=("*",)),  # anyone in the workspace may look, as the users here do
    )


class Bot:
    def __init__(
        self,
        slack: SlackTestServer,
        folder: Path,
        http: bool,
        latency: float = 0.0,
        hung_system: bool = False,
        hung_deadline: float | None = 0.5,
    ):
        self.config = make_config(folder, latency, hung_system, hung_deadline)
        secrets = Secrets(
            slack_bot_token=slack.bot_token,
            slack_app_token=slack.app_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.base_url,
        )
        self.bot = build_bot(self.config, secrets)
        self.app = build_app(self.bot, secrets, http=http)
        self.runner = Runner(
            self.app,
            self.bot,
            slack.app_token,
            http_port=0 if http else None,
            http_host="127.0.0.1",
            schedule_checks=False,
            deliver=False,  # these tests look at acks and answers; alerts stay in the outbox
        )
        self.runner.start()
        self.url = f"http://127.0.0.1:{self.runner.http_port}/slack/events" if http else None

    def stop(self) -> None:
        self.runner.stop()  # closes the bot

    def post(self, body: str, headers: dict[str, str]) -> tuple[int, dict, float]:
        assert self.url
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        elapsed = time.monotonic() - started
        try:
            return status, json.loads(raw or b"{}"), elapsed
        except json.JSONDecodeError:
            return status, {"raw": raw.decode()}, elapsed

    def command(self, slack: SlackTestServer, text: str, **form) -> tuple[int, dict, float, str]:
        response_url = slack.new_response_url()
        form.setdefault("user_id", "U0TESTUSER")  # a workspace user: with no [roles] viewers, everyone may look
        body = slack.slash_command_form(text, response_url=response_url, **form)
        return (*self.post(body, sign_request(body, SIGNING_SECRET)), response_url)


@pytest.fixture
def slack():
    with SlackTestServer(scopes=BOT_SCOPES) as server:
        yield server


@pytest.fixture
def http_bot(slack, tmp_path):
    bot = Bot(slack, tmp_path, http=True)
    yield bot
    bot.stop()


def _texts(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def test_http_help_is_answered_in_the_ack(http_bot, slack):
    status, body, elapsed, _ = http_bot.command(slack, "help")
    assert status == 200 and elapsed < 3
    assert body["response_type"] == "ephemeral"
    for sub in ("status", "netstat", "trace", "smtp", "relay", "approvals", "audit"):
        assert f"/ibmi {sub}" in _texts(body["blocks"])


@pytest.mark.parametrize("tamper", ["bad signature", "stale timestamp"])
def test_http_rejects_forged_or_stale_requests_and_runs_nothing(http_bot, slack, tamper):
    response_url = slack.new_response_url()
    body = slack.slash_command_form("netstat", user_id="U0TESTUSER", response_url=response_url)
    if tamper == "bad signature":
        headers = sign_request(body, "not-the-signing-secret")
    else:
        headers = sign_request(body, SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60)
    calls_before = len(slack.calls)
    status, _, _ = http_bot.post(body, headers)
    assert status == 401  # refused before any listener: nothing was started that could answer later
    assert slack.responses() == []
    assert len(slack.calls) == calls_before
    assert http_bot.bot.storage.db["system_reachability"].count == 0  # IBM i was not touched


def test_http_netstat_acks_within_3s_and_answers_by_response_url(slack, tmp_path):
    bot = Bot(slack, tmp_path, http=True, latency=5.0)
    try:
        status, body, elapsed, response_url = bot.command(slack, "netstat")
        assert status == 200 and elapsed < 3, elapsed
        assert "Reading connections on DEMO" in body["text"]
        [answer] = slack.wait_for_response(count=1, timeout=30)
        assert answer.url_id in response_url
        assert answer.body["response_type"] == "ephemeral"
        text = _texts(answer.body["blocks"])
        assert "210.107.73.73" in text and "untrusted" in text
        assert len(answer.body["blocks"]) <= 50
    finally:
        bot.stop()


def test_a_hung_system_is_one_hung_alert_while_netstat_on_a_healthy_one_answers_promptly(slack, tmp_path):
    bot = Bot(slack, tmp_path, http=True, hung_system=True)
    try:
        checking = threading.Thread(target=lambda: [bot.bot.checks.run_cycle("HUNG") for _ in range(3)])
        checking.start()
        status, _, elapsed, _ = bot.command(slack, "netstat DEMO")
        assert status == 200 and elapsed < 3, elapsed
        [answer] = slack.wait_for_response(count=1, timeout=30)
        assert "210.107.73.73" in _texts(answer.body["blocks"])
        checking.join(30)
        assert not checking.is_alive()
        [hung] = alerts_of(bot.bot.storage, "HUNG", "reachability").values()
        assert hung.title.startswith("HUNG is hung: calls abandoned at the 0.5 s deadline — ") and hung.state == "open"
        assert not alerts_of(bot.bot.storage, "DEMO", "reachability")
    finally:
        bot.stop()


def test_http_bad_arguments_get_an_ephemeral_explanation(http_bot, slack):
    status, body, _, _ = http_bot.command(slack, "netstat --port 99999")
    assert status == 200 and body["response_type"] == "ephemeral"
    assert "not a port" in body["text"] and "/ibmi netstat [SYSTEM] [--port N]" in body["text"]
    status, body, _, _ = http_bot.command(slack, "frobnicate")
    assert "is not a sub-command" in body["text"]


def test_http_status_shows_each_system(http_bot, slack):
    http_bot.bot.checks.run_cycle()
    _, body, _, _ = http_bot.command(slack, "status")
    text = _texts(body["blocks"])
    assert "DEMO" in text and "healthy" in text and "unknown-connections" in text


def test_http_server_answers_20_concurrent_commands(http_bot, slack):
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: http_bot.command(slack, "help"), range(20)))
    assert [status for status, *_ in results] == [200] * 20
    assert max(elapsed for _, _, elapsed, _ in results) < 3


def test_acks_do_not_wait_behind_slow_lazy_work(slack, tmp_path):
    bot = Bot(slack, tmp_path, http=True, latency=2.0)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            slow = [pool.submit(bot.command, slack, "netstat") for _ in range(6)]
            wait(slow)  # six acks back: their slow work is now running or queued
            _, _, help_elapsed, _ = bot.command(slack, "help")
            assert all(f.result()[2] < 3 for f in slow)
        assert help_elapsed < 1.5, help_elapsed
    finally:
        bot.stop()


def test_http_health_check_and_unknown_paths(http_bot):
    base = http_bot.url.rsplit("/slack/events", 1)[0]
    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(base + "/other", timeout=5)
    assert missing.value.code == 404


@pytest.fixture
def socket_bot(slack, tmp_path):
    bot = Bot(slack, tmp_path, http=False)
    slack.socket.wait_connected()
    yield bot
    bot.stop()


def test_socket_mode_help_ack_carries_the_answer(socket_bot, slack):
    envelope = slack.socket.send_slash_command("help", user_id="U0TESTUSER")
    ack = slack.socket.wait_for_ack(envelope)
    assert slack.socket.ack_delay(envelope) < 3
    assert "/ibmi netstat" in _texts(ack["payload"]["blocks"])


def test_socket_mode_netstat_with_slow_ibmi(slack, tmp_path):
    bot = Bot(slack, tmp_path, http=False, latency=5.0)
    try:
        slack.socket.wait_connected()
        envelope = slack.socket.send_slash_command("netstat --port 23", user_id="U0TESTUSER")
        ack = slack.socket.wait_for_ack(envelope)
        assert slack.socket.ack_delay(envelope) < 3
        assert "Reading connections" in ack["payload"]["text"]
        [answer] = slack.wait_for_response(count=1, timeout=30)
        text = _texts(answer.body["blocks"])
        assert "210.107.73.73" in text and "13.64.12.40" not in text  # only port 23
    finally:
        bot.stop()


def test_socket_mode_app_home_is_published_for_the_user(socket_bot, slack):
    slack.socket.send_event(
        {
            "type": "app_home_opened",
            "user": "U0VIEWER",
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": str(time.time()),
        }
    )
    [call] = slack.wait_for("views.publish", timeout=10)
    assert call.params["user_id"] == "U0VIEWER"
    slack.socket.send_event(
        {
            "type": "app_home_opened",
            "user": "U0VIEWER",
            "channel": "D0HOME",
            "tab": "messages",
            "event_ts": str(time.time()),
        }
    )
    opened = {"type": "app_home_opened", "user": "U0LATER", "channel": "D0LATER", "tab": "home"}
    slack.socket.send_event({**opened, "event_ts": str(time.time())})  # sent after it: published once handled
    slack.wait_for("views.publish", count=2, timeout=10)
    assert [call.params["user_id"] for call in slack.calls_to("views.publish")] == ["U0VIEWER", "U0LATER"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["socket", "http", "demo"])
def test_ibmi_warden_run_serves_slack_and_stops_cleanly_on_sigterm(slack, tmp_path, mode):
    import os
    import signal
    import subprocess
    import sys

    from tests.test_cli import CLEAN_ENV

    config = write_config(tmp_path)
    env = {
        **CLEAN_ENV,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
    }
    args = [sys.executable, "-m", "bot", "run", "--config", str(config)]
    if mode == "demo":  # `demo` with tokens runs the bot on the bundled demo configuration
        args = [sys.executable, "-m", "bot", "demo"]
    port = _free_port()
    if mode == "http":
        args += ["--http", str(port), "--host", "127.0.0.1"]
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if mode in ("socket", "demo"):
            slack.socket.wait_connected(timeout=20)
            envelope = slack.socket.send_slash_command("help", user_id="U01OPERATOR")
            assert "/ibmi netstat" in _texts(slack.socket.wait_for_ack(envelope, timeout=10)["payload"]["blocks"])
        else:
            body = slack.slash_command_form("help", user_id="U01OPERATOR", response_url=slack.new_response_url())
            deadline = time.monotonic() + 20
            while True:
                try:
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{port}/slack/events",
                        data=body.encode(),
                        headers=sign_request(body, SIGNING_SECRET),
                        method="POST",
                    )
                    with urllib.request.urlopen(request, timeout=5) as response:
                        assert "/ibmi netstat" in response.read().decode()
                    break
                except urllib.error.URLError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    assert "shutting down" in stderr and "stopped" in stderr
    for secret in (slack.bot_token, slack.app_token, SIGNING_SECRET):
        assert secret not in stderr


def test_run_with_a_refused_bot_token_says_so_without_a_traceback(slack, tmp_path):
    import subprocess
    import sys

    from tests.test_cli import CLEAN_ENV

    config = write_config(tmp_path)
    env = {
        **CLEAN_ENV,
        "SLACK_BOT_TOKEN": "xoxb-revoked",
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.base_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Slack refused the bot token (invalid_auth)" in result.stderr and "invalid_auth" in result.stderr
    assert "Traceback" not in result.stderr and "xoxb-revoked" not in result.stderr
