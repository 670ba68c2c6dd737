"""Stopping while an IBM i hangs: the real Runner stops within 10 s (the calls waiting for IBM i are
abandoned, not waited for), an approved command in flight ends "unknown", a check cut short is not taken for
a sick system, and nothing touches the database after it closes."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import Secrets
from bot.ibmi.cl import AddSmtpListEntry
from bot.ibmi.errors import DeadlineExceededError
from bot.ibmi_settings import open_system
from bot.wiring import build_bot
from storage.alerts import alerts_of
from storage.check_runs import last_runs
from tests.conftest import demo_settings
from tests.slack_server import SlackTestServer
from tests.test_slack_e2e import BOT_SCOPES, Bot

WAIT = 30.0


def started_calls(connection: Any) -> threading.Event:
    """Set once a call to IBM i has begun on `connection`."""
    began = threading.Event()
    started = connection._started

    def noted(call: Any) -> None:
        started(call)
        began.set()

    connection._started = noted
    return began


def test_sigterm_path_stops_within_10s_while_a_system_hangs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with SlackTestServer(scopes=BOT_SCOPES) as slack:
        bot = Bot(slack, tmp_path, http=True, hung_system=True, hung_deadline=None)  # HUNG waits 35 s by itself
        parts = bot.bot
        try:
            began = started_calls(parts.systems.connection("HUNG"))
            checks = tuple(parts.checks.enabled_checks("HUNG"))
            parts.lanes.schedule(
                "HUNG", "+".join(checks), time.time(), lambda _: parts.checks.run_checks("HUNG", checks)
            )
            assert began.wait(WAIT)
            status, _, _, _ = bot.command(slack, "netstat HUNG")
            assert status == 200
            assert parts.lanes.waiting("HUNG") == 1  # the netstat waits behind the hung check
        finally:
            with caplog.at_level(logging.INFO):
                stopping = time.monotonic()
                bot.stop()  # what SIGTERM does: Runner.stop
                took = time.monotonic() - stopping
    assert took < 10, took
    assert "closed database" not in caplog.text.lower()
    assert "left behind" not in caplog.text and "left open" not in caplog.text
    assert "HUNG: netstat not run: the bot is stopping" in caplog.text
    assert "cut short by the bot stopping; not recorded" in caplog.text
    reopened = build_bot(bot.config, Secrets(slack_bot_token="xoxb-test"))
    try:  # the hung run cut short is neither a run nor a sick system
        assert not [key for key in last_runs(reopened.storage) if key[0] == "HUNG"]
        assert not alerts_of(reopened.storage, "HUNG", "reachability")
    finally:
        reopened.close()


def test_an_approved_command_in_flight_at_stop_ends_unknown_at_once(tmp_path: Path) -> None:
    connection = open_system(replace(demo_settings(tmp_path / "demo", name="HUNG", hang=True), login_timeout=10.0))
    began = started_calls(connection)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            connection.run_cl(AddSmtpListEntry.build(list_type="*ACCEPT", address="10.1.1.9"))
        except BaseException as error:
            outcome.append(error)

    running = threading.Thread(target=run)
    running.start()
    assert began.wait(WAIT)
    stopping = time.monotonic()
    connection.abandon()
    running.join(WAIT)
    assert time.monotonic() - stopping < 5
    [error] = outcome
    assert isinstance(error, DeadlineExceededError)  # what approvals records as "unknown"
    assert "abandoned: the bot is stopping" in str(error) and "whether it ran is unknown" in str(error)
    with pytest.raises(DeadlineExceededError, match="the bot is stopping"):  # no new call waits for IBM i
        connection.query("SELECT 1 FROM QSYS2.NETSTAT_INFO")


def test_ten_netstats_on_a_hung_system_do_not_delay_netstat_on_a_healthy_one(tmp_path: Path) -> None:
    with SlackTestServer(scopes=BOT_SCOPES) as slack:
        bot = Bot(slack, tmp_path, http=True, hung_system=True, hung_deadline=None)
        try:
            began = started_calls(bot.bot.systems.connection("HUNG"))
            acks = [bot.command(slack, "netstat HUNG")]
            assert began.wait(WAIT)  # the first one is running: it waits for HUNG
            acks += [bot.command(slack, "netstat HUNG") for _ in range(9)]
            assert all(status == 200 and elapsed < 3 for status, _, elapsed, _ in acks)
            said = [body.get("text", "") for _, body, _, _ in acks]
            assert said[:6] == ["Reading connections on HUNG…"] * 6  # one running, five waiting
            assert said[6:] == [":hourglass: HUNG is busy (5 waiting); try again in a moment."] * 4
            _, _, elapsed, url = bot.command(slack, "netstat DEMO")
            [answer] = slack.wait_for_response(count=1, timeout=WAIT, url_id=url)
            assert "210.107.73.73" in json.dumps(answer.body["blocks"]) and elapsed < 3
        finally:
            bot.stop()
