"""Issue finding 7: starting does not need Slack. auth.test is retried with capped backoff while checks run and
alerts queue; a refused token stops the bot with one clear line; nothing says "token is invalid" for a 503."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.slack.client import make_web_client
from bot.slack.startup import TokenRefused, wait_for_slack
from tests.slack_server import SlackTestServer
from tests.test_cli import write_config


def test_a_503_then_an_answer_is_waited_for_with_growing_capped_waits(caplog) -> None:
    with SlackTestServer() as slack:
        slack.fail_next("auth.test", status=503, times=8)
        waits: list[float] = []
        with caplog.at_level(logging.WARNING, logger="bot.slack.startup"):
            answer = wait_for_slack(make_web_client(slack.bot_token, slack.base_url), threading.Event(), waits.append)
    assert answer is not None and answer["team_id"]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert "HTTP 503 service_unavailable" in caplog.text and "alerts wait in the outbox" in caplog.text
    assert "token" not in caplog.text


def test_connection_refused_is_waited_for_without_a_traceback(caplog) -> None:
    with SlackTestServer() as slack:
        base_url = slack.base_url  # nothing listens there once the server stopped
    stopping = threading.Event()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            stopping.set()  # SIGTERM while waiting

    with caplog.at_level(logging.WARNING, logger="bot.slack.startup"):
        assert wait_for_slack(make_web_client("xoxb-1", base_url), stopping, wait) is None
    assert waits == [1, 2, 4]
    assert "Connection refused" in caplog.text or "URLError" in caplog.text
    assert all(record.exc_info is None for record in caplog.records)


@pytest.mark.parametrize("revoked", [False, True])
def test_a_refused_token_is_not_waited_for(revoked: bool) -> None:
    with SlackTestServer() as slack:
        token = "xoxb-unknown"
        if revoked:
            slack.add_token(token, "bot", "chat:write")
            slack.revoke_token(token)
        with pytest.raises(TokenRefused) as refused:
            wait_for_slack(make_web_client(token, slack.base_url), threading.Event(), lambda seconds: None)
    error = "token_revoked" if revoked else "invalid_auth"
    assert str(refused.value) == (
        f"Slack refused the bot token ({error}): reinstall the app, put its bot token (xoxb-…) in SLACK_BOT_TOKEN "
        "and restart the bot"
    )


def run_bot(tmp_path: Path, slack: SlackTestServer, token: str) -> subprocess.Popen[str]:
    config = write_config(tmp_path)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.base_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_with_a_refused_token_exits_2_with_one_line(tmp_path: Path) -> None:
    with SlackTestServer() as slack:
        process = run_bot(tmp_path, slack, "xoxb-not-issued")
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "ibmi-warden: Slack refused the bot token (invalid_auth): reinstall the app" in stderr
    assert "Traceback" not in stderr


def test_run_waits_through_a_slack_outage_at_start_then_joins(tmp_path: Path) -> None:
    with SlackTestServer() as slack:
        slack.fail_next("auth.test", status=503, times=3)  # more than slack_sdk's own retries ride out
        process = run_bot(tmp_path, slack, slack.bot_token)
        try:
            slack.wait_for("auth.test", count=4, timeout=30)  # three 503s (then 1, 2, 4 s waits), then the answer
            slack.socket.wait_connected(timeout=30)
            assert process.poll() is None  # still running: joined Slack once it answered
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=30)
    assert "Slack is not answering yet (auth.test: HTTP 503 service_unavailable)" in stderr
    assert "Traceback" not in stderr and "did not accept" not in stderr
