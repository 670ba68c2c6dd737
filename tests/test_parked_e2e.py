"""Issue finding 4 through the running bot: the bot not invited to the alerts channel parks the demo cycle's
alerts; the App Home and `doctor` say so with the fix, the fallback channel is told, and the bot joining the
channel (member_joined_channel over Socket Mode) sends every alert at once, in order."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import replace

from bot.config import Secrets
from bot.doctor import run_doctor
from bot.runtime import Runner
from bot.wiring import build_app, build_bot
from storage import outbox
from tests.slack_server import BOT_USER_ID, SlackTestServer
from tests.test_alerts_e2e import ALERTS, FakeClock, OfflineTracer, make_config

OPS = "C0OPS"


def test_alerts_parked_for_a_channel_the_bot_is_not_in_are_posted_once_it_is_invited(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    clock = FakeClock()
    config = make_config(tmp_path)
    config = replace(
        config,
        slack=replace(config.slack, fallback_channel=OPS),
        storage=replace(config.storage, path=tmp_path / "warden-demo.db"),  # where doctor reads the config's
    )
    with SlackTestServer() as slack:
        slack.add_channel(ALERTS, is_member=False)
        secrets = Secrets(
            slack_bot_token=slack.bot_token, slack_app_token=slack.app_token, slack_api_url=slack.base_url
        )
        bot = build_bot(config, secrets, clock=clock, tracer=OfflineTracer())
        runner = Runner(build_app(bot, secrets, http=False), bot, slack.app_token, schedule_checks=False, deliver=False)
        runner.start()
        try:
            slack.socket.wait_connected()
            bot.checks.run_cycle()
            for _ in range(40):  # 40 s of Slack answering not_in_channel
                bot.delivery.deliver_due()
                clock.advance(1)
            assert slack.messages(ALERTS) == []
            queued = outbox.items(bot.storage, channel=ALERTS)
            assert queued and {item.state for item in queued} == {"pending"}  # nothing lost
            (notice,) = [m["text"] for m in slack.messages(OPS)]
            assert f"cannot post to {ALERTS} (not_in_channel): {len(queued)} message(s) wait" in notice

            home = json.dumps(bot.home.view("U01OPERATOR"))
            assert f"{len(queued)} Slack message(s) for {ALERTS} are waiting" in home
            assert "/invite @ibmi-warden" in home
            out = io.StringIO()
            run_doctor(config.path, Secrets(), env={}, out=out)
            assert f"FAIL    Slack: messages for {ALERTS} ({len(queued)} parked since" in out.getvalue()
            assert f"fix: invite the bot to {ALERTS}: /invite @ibmi-warden" in out.getvalue()

            slack.add_channel(ALERTS, is_member=True)
            retried = threading.Event()
            retry_parked = bot.delivery.retry_parked

            def retry_and_tell(reason: str = "") -> int:
                count = retry_parked(reason)
                retried.set()
                return count

            monkeypatch.setattr(bot.delivery, "retry_parked", retry_and_tell)
            slack.socket.send_event({"type": "member_joined_channel", "user": BOT_USER_ID, "channel": ALERTS})
            assert retried.wait(10), "the bot's joining was not handled"  # the listener runs after the ack
            deadline = 200
            while outbox.pending_count(bot.storage) and deadline:  # the next pass finds them due at once
                bot.delivery.deliver_due()
                clock.advance(1)
                deadline -= 1
            assert [item.state for item in outbox.items(bot.storage, channel=ALERTS)] == ["sent"] * len(queued)
            posted = [call.params for call in slack.calls_to("chat.postMessage") if call.ok]
            assert [p["text"] for p in posted if p["channel"] == ALERTS] == [
                item.payload["text"] for item in queued if item.method == outbox.POST
            ]  # in enqueue order
        finally:
            runner.stop()
