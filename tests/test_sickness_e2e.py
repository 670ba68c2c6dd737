"""Every kind of sickness end to end: a demo IBM i that cannot be reached, hangs, fails every statement or lets
the bot's profile read nothing is one alert of its own (updated, not re-posted, when the kind changes) and one
recovery, and `/ibmi status` and the App Home say which and since when.

The bot runs in Socket Mode against the Slack test server; checks are run and the outbox delivered by the test,
on a fake clock; commands and the App Home are waited for by event, never by sleeping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import DemoSettings, Secrets
from bot.ibmi.drivers.demo import DemoError
from bot.ibmi.drivers.demo.connection import DemoCursor
from bot.ibmi.errors import ConnectionFailedError
from bot.runtime import Runner
from bot.wiring import Bot, build_app, build_bot
from storage.alerts import alerts_of
from tests.slack_server import SlackTestServer
from tests.test_alerts_e2e import ALERTS, FakeClock, deliver_all, make_config, text_of, top_level

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
HEALTHY = "HEALTHY"


class Running:
    """The bot for PROD (sick as asked) and HEALTHY, its Slack transport started, checks and delivery by hand."""

    def __init__(self, slack: SlackTestServer, folder: Path, clock: FakeClock, **prod_demo: object) -> None:
        config = make_config(folder, systems=("PROD", HEALTHY))
        prod, healthy = config.systems
        prod = replace(
            prod, demo=replace(prod.demo or DemoSettings(), **prod_demo), statement_deadline=0.5, login_timeout=0.5
        )
        config = replace(config, systems=(prod, healthy), roles=replace(config.roles, viewers=("*",)))
        secrets = Secrets(
            slack_bot_token=slack.bot_token,
            slack_app_token=slack.app_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.base_url,
        )
        self.slack = slack
        self.clock = clock
        self.bot: Bot = build_bot(config, secrets, clock=clock)
        self.runner = Runner(
            build_app(self.bot, secrets, http=False),
            self.bot,
            slack.app_token,
            schedule_checks=False,
            deliver=False,
        )
        self.runner.start()
        slack.socket.wait_connected()

    def cycle(self, times: int = 1) -> None:
        for _ in range(times):
            self.bot.checks.run_cycle()
            deliver_all(self.bot, self.clock)
            self.clock.advance(300)

    def status(self) -> str:
        envelope = self.slack.socket.send_slash_command("status", user_id="U0VIEWER")
        return json.dumps(self.slack.socket.wait_for_ack(envelope)["payload"])

    def home(self) -> str:
        published = len(self.slack.calls_to("views.publish"))
        self.slack.socket.send_event(
            {"type": "app_home_opened", "user": "U0VIEWER", "channel": "D0HOME", "tab": "home", "event_ts": "1"}
        )
        call = self.slack.wait_for("views.publish", count=published + 1, timeout=10)[-1]
        return json.dumps(call.params["view"])

    def stop(self) -> None:
        self.runner.stop()


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer(scopes="chat:write,commands") as server:
        yield server


def sick_alerts(slack: SlackTestServer) -> list[dict]:
    """The system's own alert messages (their header says "Resolved: " in front once resolved)."""
    return [m for m in top_level(slack) if m["blocks"][0]["text"]["text"].endswith("PROD · reachability")]


def thread_of(slack: SlackTestServer, message: dict) -> list[str]:
    return [reply["text"] for reply in slack.replies(ALERTS, message["ts"]) if reply["ts"] != message["ts"]]


@pytest.mark.parametrize(
    ("failure", "kind", "said"),
    [
        ("SQL0901", "erroring", "SQL0901"),
        ("SQL0666", "erroring", "query_timeout"),  # the driver's query timeout: the fix names the setting
        ("SQL0551", "not authorised", "doctor"),  # the fix: grant what `ibmi-warden doctor` lists
    ],
)
def test_a_system_whose_every_statement_fails_alerts_once_and_recovers_once(slack, tmp_path, failure, kind, said):
    clock = FakeClock()
    bot = Running(slack, tmp_path, clock, fail_statements=failure)
    try:
        bot.cycle(times=4)
        [alert] = sick_alerts(slack)
        assert f"PROD is {kind}" in text_of(alert) and failure in text_of(alert) and said in text_of(alert)
        assert thread_of(slack, alert) == []  # nothing said again while it stays the same
        status = bot.status()
        assert f"{kind} since" in status and failure in status
        assert "HEALTHY" in status and "healthy" in status
        home = bot.home()
        assert f"{kind} since" in home and failure in home
    finally:
        bot.stop()
    clock.advance(300)
    bot = Running(slack, tmp_path, clock)  # the setting removed, the bot restarted
    try:
        bot.cycle(times=2)
        [alert] = sick_alerts(slack)
        assert thread_of(slack, alert) == [":white_check_mark: *PROD is healthy again.*"]
        assert "healthy" in bot.status() and kind not in bot.status()
    finally:
        bot.stop()


def test_a_failing_check_on_a_healthy_system_stays_that_check_s_error(slack, tmp_path, monkeypatch):
    execute = DemoCursor.execute

    def user_info_fails(cursor: DemoCursor, statement: str, params=()):  # noqa: ANN001, ANN202
        if "USER_INFO" in statement and "demo-PROD" in str(cursor._connection.folder):
            raise DemoError("58004", "[SQL0901] SQL system error.")
        return execute(cursor, statement, params)

    monkeypatch.setattr(DemoCursor, "execute", user_info_fails)
    clock = FakeClock()
    bot = Running(slack, tmp_path, clock)
    try:
        bot.cycle(times=3)  # splctl-exposure (USER_INFO) fails on PROD; the other checks answer
        assert sick_alerts(slack) == []
        assert not alerts_of(bot.bot.storage, "PROD", "reachability")
        status = bot.status()
        assert "2 healthy" in status and "`splctl-exposure`" in status and "error: " in status and "SQL0901" in status
    finally:
        bot.stop()


def test_the_kind_changes_in_the_same_alert_and_one_recovery_ends_it(slack, tmp_path, monkeypatch):
    clock = FakeClock()
    bot = Running(slack, tmp_path, clock, fail_statements="SQL0901")
    prod = bot.bot.systems.connection("PROD")

    def refuse(settings):  # noqa: ANN001, ANN202
        raise ConnectionFailedError("PROD: connecting failed: [08001] Communication link failure")

    try:
        bot.cycle(times=2)
        prod._discard()
        monkeypatch.setattr(prod._driver, "connect", refuse)  # the demo driver module, shared by both systems
        bot.cycle(times=2)
        [alert] = sick_alerts(slack)
        assert "PROD cannot be reached" in text_of(slack.message(ALERTS, alert["ts"]))  # the message was edited
        [now] = thread_of(slack, alert)
        assert "PROD is now unreachable" in now and "Communication link failure" in now
        assert "unreachable since" in bot.status()
    finally:
        bot.stop()
    monkeypatch.undo()  # PROD answers again
    bot = Running(slack, tmp_path, clock)
    try:
        bot.cycle()
        [alert] = sick_alerts(slack)
        assert thread_of(slack, alert)[-1] == ":white_check_mark: *PROD is reachable again.*"
        assert len(thread_of(slack, alert)) == 2
    finally:
        bot.stop()


def test_a_hung_system_is_one_hung_alert_naming_the_deadline(slack, tmp_path):
    clock = FakeClock()
    bot = Running(slack, tmp_path, clock, hang=True)
    try:
        started = time.monotonic()
        bot.cycle(times=2)
        assert time.monotonic() - started < 2 * (0.5 + 10) + 5  # each cycle abandons PROD's first call
        [alert] = sick_alerts(slack)
        assert "PROD is hung: calls abandoned at the 0.5 s deadline" in text_of(alert)
        status = bot.status()
        assert "hung since" in status and "calls abandoned at the 0.5 s deadline" in status
        assert "hung since" in bot.home()
    finally:
        bot.stop()
