"""The App Home is republished on its own worker, end to end over Socket Mode against the Slack test server:
a burst of state changes is one views.publish per user who opened the tab and may see it, and while those
publishes wait on Slack, command answers do not wait behind them.

The bot runs on a fake clock; the publisher's wait for the rest of a burst is a gate the test opens; other
waits are on events (calls recorded, calls held, answers), never on time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from bot.config import Secrets
from bot.runtime import Runner
from bot.wiring import Bot, build_app, build_bot
from tests.slack_server import SlackTestServer
from tests.test_alerts_e2e import FakeClock, OfflineTracer, make_config

VIEWERS = tuple(f"U0VIEW{n:04d}" for n in range(100))
STRANGERS = tuple(f"U0STRNG{n:03d}" for n in range(20))  # opened the tab, may not see the systems
WAIT = 30.0  # seconds an event may take before a test fails; never slept


class SettleGate:
    """Stands in for the publisher's wait for the rest of a burst: it waits until the test opens the gate."""

    def __init__(self) -> None:
        self.settling = threading.Event()
        self.open = threading.Event()

    def pause(self, seconds: float) -> None:
        self.settling.set()
        assert self.open.wait(WAIT)


@dataclass
class Running:
    bot: Bot
    gate: SettleGate


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer(scopes="chat:write,commands") as server:
        yield server


@pytest.fixture
def running(slack, tmp_path) -> Iterator[Running]:
    config = make_config(tmp_path)
    config = replace(config, roles=replace(config.roles, viewers=VIEWERS))
    secrets = Secrets(slack_bot_token=slack.bot_token, slack_app_token=slack.app_token, slack_api_url=slack.base_url)
    bot = build_bot(config, secrets, clock=FakeClock(), tracer=OfflineTracer())
    gate = SettleGate()
    bot.home_publisher.pause = gate.pause
    runner = Runner(build_app(bot, secrets, http=False), bot, slack.app_token, schedule_checks=False, deliver=False)
    runner.start()
    try:
        slack.socket.wait_connected()
        yield Running(bot, gate)
    finally:
        gate.open.set()
        runner.stop()


def open_home(slack: SlackTestServer, users: tuple[str, ...]) -> None:
    published = len(slack.calls_to("views.publish"))
    for user in users:
        slack.socket.send_event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"})
    slack.wait_for("views.publish", count=published + len(users), timeout=WAIT)


def republished_since(slack: SlackTestServer, count: int) -> list[str]:
    return sorted(call.params["user_id"] for call in slack.calls_to("views.publish")[count:])


def test_a_burst_of_changes_is_one_publish_per_viewer_and_commands_do_not_wait(slack, running):
    open_home(slack, VIEWERS + STRANGERS)
    before = len(slack.calls_to("views.publish"))
    slack.hold_answers(method="views.publish")
    try:
        for _ in range(25):
            running.bot.changes.notify()  # alerts and requests changing in a burst
        assert running.gate.settling.wait(WAIT)
        for _ in range(25):
            running.bot.changes.notify()  # the rest of the burst, while the round waits for it
        running.gate.open.set()
        slack.wait_until_held(1, timeout=WAIT)  # the round is under way, its first call unanswered
        slack.socket.send_slash_command("trace 203.0.113.5", user_id=VIEWERS[0])  # on the shared work pool
        slack.socket.send_slash_command("netstat", user_id=VIEWERS[1])  # in the system's lane
        answers = slack.wait_for_response(count=2, timeout=WAIT)
        assert len(slack.calls_to("views.publish")) == before  # both answered while the republish waits
    finally:
        slack.release_answers()
    texts = " ".join(str(answer.body) for answer in answers)
    assert "203.0.113.5" in texts and "210.107.73.73" in texts
    assert running.bot.home_publisher.wait_idle(timeout=WAIT)
    assert republished_since(slack, before) == sorted(VIEWERS)  # each viewer once; no stranger


def test_a_check_cycle_is_one_publish_per_viewer_and_no_change_publishes_nothing(slack, running):
    open_home(slack, VIEWERS[:3])
    running.gate.open.set()
    running.bot.changes.notify()
    assert running.bot.home_publisher.wait_idle(timeout=WAIT)
    before = len(slack.calls_to("views.publish"))
    running.bot.changes.notify()  # nothing a viewer sees changed
    assert running.bot.home_publisher.wait_idle(timeout=WAIT)
    assert len(slack.calls_to("views.publish")) == before
    running.gate.open.clear()
    running.gate.settling.clear()
    running.bot.checks.run_cycle()  # findings open, one change per check: every viewer's Home changes
    assert running.gate.settling.wait(WAIT)
    running.gate.open.set()
    assert running.bot.home_publisher.wait_idle(timeout=WAIT)
    assert republished_since(slack, before) == sorted(VIEWERS[:3])
