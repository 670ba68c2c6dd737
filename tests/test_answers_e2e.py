"""Every answer reaches the person who acted, end to end over HTTP against the Slack test server: a click in the
App Home (no response_url) is answered by a DM and a fresh Home; a form's outcome is said in the form when it can
be known at once, else in the channel the form came from; a command on a system that cannot be reached says why;
and a form is opened once, never retried while its trigger_id expires. Waits are on the Slack stand-in's events."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from typing import Any

import pytest

from bot.checks.finding import Finding
from bot.config import Secrets
from bot.ibmi.errors import ConnectionFailedError
from bot.runtime import Runner
from bot.slack.client import IN_ACK_TIMEOUT
from bot.wiring import build_app
from storage import approvals as store
from tests.slack_server import RecordedCall, SlackTestServer, find_action, interactive_form
from tests.test_alerts_e2e import ALERTS, FakeClock, cycle, start, top_level
from tests.test_approvals_e2e import (
    APPROVALS,
    APPROVER,
    OPERATOR,
    SECOND,
    Bot,
    text_input,
    view_submission,
)

COMMAND_CHANNEL = "C0COMMANDS"  # where the operator types /ibmi


@pytest.fixture
def slack():
    with SlackTestServer(scopes="chat:write,commands,usergroups:read") as server:
        yield server


@pytest.fixture
def bot(slack, tmp_path):
    bot = Bot(slack, tmp_path)
    yield bot
    bot.stop()


def command(bot: Bot, text: str, user: str = OPERATOR) -> tuple[int, dict[str, Any]]:
    return bot.post(bot.slack.slash_command_form(text, user_id=user, channel_id=COMMAND_CHANNEL))


def opened_view(slack: SlackTestServer, count: int = 1) -> dict[str, Any]:
    view = slack.wait_for("views.open", count=count, timeout=10)[-1].params["view"]
    return json.loads(view) if isinstance(view, str) else view


def home_click(bot: Bot, home: dict[str, Any], action_id: str, user: str) -> int:
    """A click on a button of the Home tab: Slack sends no response_url and no channel for it."""
    block, element = find_action(home["blocks"], action_id, None)
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T0WARDEN"},
        "api_app_id": "A0WARDEN",
        "trigger_id": f"{time.time()}.trigger",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {**home, "id": "V0HOME"},
        "actions": [
            {
                "action_id": action_id,
                "block_id": block["block_id"],
                "type": "button",
                "value": element["value"],
                "action_ts": str(time.time()),
            }
        ],
    }
    return bot.post(interactive_form(payload))[0]


def said_to(slack: SlackTestServer, user: str, count: int) -> list[str]:
    """The texts of the direct messages (chat.postMessage to the user or their DM) and ephemeral messages sent to
    `user`, once there are at least `count`."""

    def to_user(calls: list[RecordedCall]) -> list[str]:
        return [
            str(c.params.get("text", ""))
            for c in calls
            if c.ok
            and (
                (c.method == "chat.postMessage" and c.params.get("channel") in (user, f"D{user[1:]}"))
                or (c.method == "chat.postEphemeral" and c.params.get("user") == user)
            )
        ]

    return to_user(slack.wait_until(lambda calls: len(to_user(calls)) >= count, timeout=10))


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR
    ]


# 1. App Home clicks ------------------------------------------------------------------------------------------


def test_approve_in_the_home_runs_the_change_and_tells_the_approver_by_dm(bot, slack, caplog):
    caplog.set_level(logging.INFO)
    bot.command("relay set list close the open relay")
    request_id, _ = bot.request_message()
    home = bot.open_home(APPROVER)
    published = len(slack.calls_to("views.publish"))
    assert home_click(bot, home, "request_approve", APPROVER) == 200
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    [told] = said_to(slack, APPROVER, 1)
    assert f"Approved; {request_id} ran and is done" in told
    republished = slack.wait_for("views.publish", count=published + 1, timeout=10)
    assert any(c.params["user_id"] == APPROVER for c in republished[published:])
    assert no_tracebacks(caplog) == []


def test_a_refusal_in_the_home_is_told_by_dm(bot, slack, caplog):
    bot.command("relay set list close the open relay", user=APPROVER)
    request_id, _ = bot.request_message()
    home = bot.open_home(SECOND)
    bot.click(bot.request_message()[1], "request_approve", SECOND)  # decided in the channel meanwhile
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    home_click(bot, home, "request_approve", SECOND)  # the Home shown before still has the button
    told = said_to(slack, SECOND, 1)
    assert any(f"{request_id} is already done" in text for text in told), told
    home_click(bot, home, "request_reject", SECOND)  # Reject: refused before any form opens
    told = said_to(slack, SECOND, 2)
    assert sum(f"{request_id} is already done" in text for text in told) == 2, told
    assert slack.calls_to("views.open") == []
    assert no_tracebacks(caplog) == []


def test_reject_from_the_home_is_told_by_dm(bot, slack):
    bot.command("relay set list close the open relay")
    request_id, _ = bot.request_message()
    home = bot.open_home(APPROVER)
    home_click(bot, home, "request_reject", APPROVER)
    status, body = view_submission(bot, opened_view(slack), APPROVER, {"reason": text_input("not today")})
    assert status == 200 and not body
    assert bot.wait_for_state(request_id, ("rejected",)) == "rejected"
    [told] = said_to(slack, APPROVER, 1)
    assert f"Rejected {request_id}" in told


# 2. Modal submissions ----------------------------------------------------------------------------------------


def test_a_reject_submitted_after_another_approval_stays_open_and_says_so(bot, slack):
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    bot.click(message, "request_reject", APPROVER)
    form = opened_view(slack)
    bot.click(message, "request_approve", SECOND)
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    status, body = view_submission(bot, form, APPROVER, {"reason": text_input("not today")})
    assert status == 200 and body["response_action"] == "errors"
    assert f"{request_id} is already done" in body["errors"]["reason"]
    assert store.get(bot.storage, request_id).state == "done"


def test_a_reject_in_the_channel_is_confirmed_to_the_rejecter_there(bot, slack):
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    bot.click(message, "request_reject", APPROVER)
    view_submission(bot, opened_view(slack), APPROVER, {"reason": text_input("not today")})
    [told] = said_to(slack, APPROVER, 1)
    assert f"Rejected {request_id}" in told
    [ephemeral] = [c for c in slack.calls_to("chat.postEphemeral") if c.params.get("user") == APPROVER]
    assert ephemeral.params["channel"] == APPROVALS


@pytest.mark.parametrize("bot_in_channel", [True, False])
def test_the_smtp_form_tells_the_submitter_the_request_id_in_their_channel(bot, slack, bot_in_channel):
    slack.add_channel(COMMAND_CHANNEL, is_private=True, is_member=bot_in_channel)
    command(bot, "smtp add")
    accept = {"value": {"type": "static_select", "selected_option": {"value": "*ACCEPT"}}}
    values = {
        "type": accept,
        "address": text_input("10.1.9.0"),
        "mask": text_input("255.255.255.0"),
        "reason": text_input("branch office"),
    }
    status, body = view_submission(bot, opened_view(slack), OPERATOR, values)
    assert status == 200 and not body
    request_id, _ = bot.request_message()
    [told] = said_to(slack, OPERATOR, 1)
    assert request_id in told
    [ephemeral] = [c for c in slack.calls_to("chat.postEphemeral") if c.params.get("user") == OPERATOR]
    assert ephemeral.params["channel"] == COMMAND_CHANNEL
    assert ephemeral.ok is bot_in_channel  # where the bot may not post, a direct message says it instead


# 3. A system that cannot be reached --------------------------------------------------------------------------


@pytest.fixture
def unreachable(bot, monkeypatch):
    connection = bot.parts.systems.connection("DEMO")

    def refuse(settings):  # noqa: ANN001, ANN202
        raise ConnectionFailedError("DEMO: connecting failed: [08001] Communication link failure")

    connection._discard()
    monkeypatch.setattr(connection._driver, "connect", refuse)
    return bot


@pytest.mark.parametrize("text", ["smtp list", "smtp list reject", "end 210.107.73.73 unknown telnet user"])
def test_a_command_on_an_unreachable_system_says_why(unreachable, slack, caplog, text):
    bot = unreachable
    count = len(slack.responses())
    status, _ = bot.command(text)
    assert status == 200
    answer = slack.wait_for_response(count=count + 1, timeout=15)[-1].body["text"]
    assert "log has the details" not in answer
    assert "DEMO cannot be reached" in answer and "Communication link failure" in answer
    assert "ibmi-warden doctor" in answer
    assert no_tracebacks(caplog) == []


def test_a_command_on_a_hung_system_says_the_deadline(bot, slack, caplog):
    connection = bot.parts.systems.connection("DEMO")
    settings = connection.settings
    connection._discard()
    connection.settings = replace(
        settings, statement_deadline=0.3, login_timeout=0.3, demo=replace(settings.demo, hang=True)
    )
    bot.command("smtp list")
    answer = slack.wait_for_response(count=1, timeout=15)[-1].body["text"]
    assert "DEMO did not answer (the call was abandoned at the 0.3 s deadline)" in answer, answer
    assert "log has the details" not in answer
    assert no_tracebacks(caplog) == []


# 4. Forms opened inside an ack -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_the_smtp_form_is_opened_once_and_a_refusal_is_said_at_once(bot, slack, status):
    slack.fail_next("views.open", status=status, retry_after=2)
    started = time.monotonic()
    code, body = command(bot, "smtp add")
    acked_in = time.monotonic() - started
    assert code == 200 and len(slack.calls_to("views.open")) == 1  # no retry
    assert "could not be opened" in body["text"] and body["response_type"] == "ephemeral"
    assert acked_in < 2  # Retry-After alone would take 2 s


def test_the_reject_form_is_opened_once_and_a_refusal_is_said(bot, slack):
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    slack.wait_for_response(count=1, timeout=10)  # the requester's own answer
    slack.fail_next("views.open", status=429, retry_after=2)
    count = len(slack.responses())
    bot.click(message, "request_reject", APPROVER)
    answer = slack.wait_for_response(count=count + 1, timeout=10)[-1].body["text"]
    assert "could not be opened" in answer and len(slack.calls_to("views.open")) == 1
    assert store.get(bot.storage, request_id).state == "pending"


def test_a_form_slack_does_not_answer_in_time_is_given_up_within_the_ack(bot, slack):
    slack.set_latency(IN_ACK_TIMEOUT + 1, "views.open")
    code, body = command(bot, "smtp add")
    assert code == 200 and "could not be opened: Slack did not answer" in body["text"]
    assert len(slack.calls_to("views.open")) <= 1  # the one call, recorded once Slack's stand-in answers it


def test_an_end_connection_form_from_an_alert_tells_the_requester_over_socket_mode(tmp_path):
    clock = FakeClock()
    with SlackTestServer(scopes="chat:write,commands") as slack:
        parts = start(slack, tmp_path, clock)
        secrets = Secrets(
            slack_bot_token=slack.bot_token, slack_app_token=slack.app_token, slack_api_url=slack.base_url
        )
        runner = Runner(
            build_app(parts, secrets, http=False), parts, slack.app_token, schedule_checks=False, deliver=False
        )
        runner.start()
        try:
            slack.socket.wait_connected()
            cycle(parts, clock)
            alert = next(m for m in top_level(slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])
            fingerprint = Finding("DEMO", "unknown-connections", "warning", "210.107.73.73", "").fingerprint
            [buttons] = [  # the block_id of the alert's buttons changes with their state: read it from the message
                b["block_id"] for b in alert["blocks"] if b.get("block_id", "").startswith(f"alert:{fingerprint}")
            ]
            slack.socket.send_block_action(
                ALERTS, alert["ts"], "alert_end_connection", user_id=OPERATOR, block_id=buttons
            )
            [opened] = slack.wait_for("views.open", timeout=10)
            reason = {"reason": {"value": {"type": "plain_text_input", "value": "not our user"}}}
            slack.socket.send_view_submission(opened.response["view"]["id"], reason, user_id=OPERATOR)
            [told] = said_to(slack, OPERATOR, 1)
            [request] = store.pending(parts.storage)
            assert request.id in told
            [ephemeral] = slack.calls_to("chat.postEphemeral")
            assert ephemeral.params["channel"] == ALERTS
        finally:
            runner.stop()
            parts.close()
