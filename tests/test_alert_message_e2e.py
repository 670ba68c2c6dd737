"""An alert message follows what people do from it, end to end over Socket Mode against the Slack test server:
a silence or a change request filed from its buttons edits the message (what was done, by whom, and the
buttons that no longer apply gone), every edit carries fresh block_ids, the End/Trust forms name the address
and the system, and `/ibmi approvals` links to approval messages with the permalinks Slack gives.

Time is a fake clock; the delivery worker is driven pass by pass; waits are on events."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.checks.finding import Finding
from bot.config import Secrets
from bot.runtime import Runner
from bot.wiring import Bot, build_app
from storage import approvals as requests_store
from tests.slack_server import SlackTestServer
from tests.test_alerts_e2e import ALERTS, FakeClock, cycle, deliver_all, start, top_level

OPERATOR, APPROVER = "U01OPERATOR", "U02APPROVER"
ENDED, SILENCED = "210.107.73.73", "13.64.12.40"


def decoded(value: Any) -> Any:
    """A JSON parameter as the bot sent it (slack_sdk sends JSON bodies or form-encoded JSON strings)."""
    return json.loads(value) if isinstance(value, str) else value


def fingerprint_of(address: str) -> str:
    return Finding("DEMO", "unknown-connections", "warning", address, "").fingerprint


class Running:
    """The bot joined to the Slack test server over Socket Mode, its alerts posted."""

    def __init__(self, slack: SlackTestServer, parts: Bot, clock: FakeClock) -> None:
        self.slack, self.parts, self.clock = slack, parts, clock
        self.filed = threading.Event()
        filing = parts.alert_actions.request_from_alert

        def filed_then_said(*args: Any) -> str:
            try:
                return filing(*args)
            finally:
                self.filed.set()

        parts.alert_actions.request_from_alert = filed_then_said  # type: ignore[method-assign]

    def message(self) -> dict[str, Any]:
        return next(m for m in top_level(self.slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])

    def click(self, action_id: str, address: str, user: str = OPERATOR) -> None:
        self.slack.socket.send_block_action(
            ALERTS, self.message()["ts"], action_id, user_id=user, block_id=self.actions_of(address)["block_id"]
        )

    def answered_click(self, action_id: str, address: str) -> str:
        count = len(self.slack.responses())
        self.click(action_id, address)
        return self.slack.wait_for_response(count=count + 1, timeout=10)[-1].body["text"]

    def actions_of(self, address: str) -> dict[str, Any]:
        """The buttons block under the alert about `address` (each carries the alert's fingerprint)."""
        fingerprint = fingerprint_of(address)
        return next(
            b for b in self.message()["blocks"] if b["type"] == "actions" and b["elements"][0]["value"] == fingerprint
        )

    def buttons_of(self, address: str) -> list[str]:
        return [element["text"]["text"] for element in self.actions_of(address)["elements"]]

    def approvals_answer(self) -> str:
        """`/ibmi approvals` as a viewer sees it (answered in the ack)."""
        envelope = self.slack.socket.send_slash_command("approvals", user_id=OPERATOR)
        return json.dumps(self.slack.socket.wait_for_ack(envelope)["payload"], ensure_ascii=False)

    def section_of(self, address: str) -> str:
        return next(
            b["text"]["text"]
            for b in self.message()["blocks"]
            if b["type"] == "section" and address in b["text"]["text"]
        )


@pytest.fixture
def running(tmp_path) -> Iterator[Running]:
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
            yield Running(slack, parts, clock)
        finally:
            runner.stop()
            parts.close()


def test_a_silence_from_the_button_edits_the_message_and_removes_the_silence_button(running):
    before = running.actions_of(SILENCED)
    assert "Silence 24h" in running.buttons_of(SILENCED)
    assert "Silenced for 24h" in running.answered_click("alert_silence_24h", SILENCED)
    deliver_all(running.parts, running.clock)
    section = running.section_of(SILENCED)
    assert "Silenced until" in section and f"by <@{OPERATOR}>" in section
    assert running.buttons_of(SILENCED) == ["Trace owner", "Trust…", "End connection…"]
    assert "Silence 24h" in running.buttons_of(ENDED)  # the other alert of the message is untouched
    assert running.actions_of(SILENCED)["block_id"] != before["block_id"]  # a new state, a new block_id
    update = running.slack.calls_to("chat.update")[-1]
    block_ids = [b.get("block_id") for b in decoded(update.params["blocks"])]
    assert len([b for b in block_ids if b]) == len({b for b in block_ids if b})


def test_an_end_request_from_the_alert_names_address_and_system_and_edits_the_message(running):
    running.click("alert_end_connection", ENDED)
    [opened] = running.slack.wait_for("views.open", timeout=10)
    form = json.dumps(decoded(opened.params["view"])["blocks"])
    assert ENDED in form and "DEMO" in form
    view_id = opened.response["view"]["id"]
    running.slack.socket.send_view_submission(
        view_id, {"reason": {"value": {"type": "plain_text_input", "value": "not our user"}}}, user_id=OPERATOR
    )
    assert running.filed.wait(10)
    deliver_all(running.parts, running.clock)
    [request] = requests_store.pending(running.parts.storage)
    section = running.section_of(ENDED)
    assert f"End requested by <@{OPERATOR}>: {request.id}" in section and "waiting for approval" in section
    assert running.buttons_of(ENDED) == ["Trace owner", "Trust…", "Silence 24h"]
    assert "End connection…" in running.buttons_of(SILENCED)
    assert "Rejected" not in section
    running.parts.approvals.reject(request.id, APPROVER, "a customer after all")
    deliver_all(running.parts, running.clock)
    section = running.section_of(ENDED)
    assert f"{request.id}" in section and "rejected" in section
    assert "End connection…" in running.buttons_of(ENDED)  # rejected: it may be asked again


def test_a_trust_form_names_address_and_system(running):
    running.click("alert_trust", SILENCED)
    [opened] = running.slack.wait_for("views.open", timeout=10)
    form = json.dumps(decoded(opened.params["view"])["blocks"])
    assert SILENCED in form and "DEMO" in form


def test_approvals_link_to_the_approval_message_with_its_permalink(running):
    slack = running.slack
    running.parts.alert_actions.request_from_alert(fingerprint_of(ENDED), "end-connection", OPERATOR, "why")
    deliver_all(running.parts, running.clock)
    [request] = requests_store.pending(running.parts.storage)
    posted = next(m for m in slack.messages() if m.get("text", "").startswith(f"Change request {request.id}"))
    text = running.approvals_answer()
    assert f"<{slack.permalink(posted['channel'], posted['ts'])}|{request.id}>" in text
    assert "https://slack.com/archives" not in text


def test_an_approval_without_a_permalink_is_listed_without_a_link(running):
    slack = running.slack
    running.parts.alert_actions.request_from_alert(fingerprint_of(ENDED), "end-connection", OPERATOR, "why")
    slack.fail_next("chat.getPermalink", status=200, retry_after=None, error="message_not_found")
    deliver_all(running.parts, running.clock)
    [request] = requests_store.pending(running.parts.storage)
    text = running.approvals_answer()
    assert f"• {request.id} " in text and "archives" not in text
