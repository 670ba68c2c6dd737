"""Requests bound to their origin, end to end over HTTP with requests signed as Slack signs them: a replayed
request is answered once, a request from another workspace, app or organisation is refused and audited, an
approval no longer counts once its approver has left the approvers, and every refusal is one audit row."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.alerting.render import ACTION_END, ACTION_SILENCE, ACTION_TRUST
from storage import approvals as store
from storage import audit
from tests.slack_server import APP_ID, TEAM_ID, interactive_form, sign_request
from tests.test_approvals_e2e import APPROVALS, APPROVER, OPERATOR, SECOND, SECRET, STRANGER, Bot, text_input
from tests.test_roles import UsergroupsSlack

THIRD, VIEWER = "U04APPROVER", "U05VIEWER"
FOREIGN_TEAM, FOREIGN_APP = "T0ELSEWHERE", "A0ELSEWHERE"


class OriginSlack(UsergroupsSlack):
    """The test server with `usergroups.list`, and an `auth.test` that names the app as well."""

    def __init__(self, app_id_in_auth_test: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_id_in_auth_test = app_id_in_auth_test

    def _auth_test(self, request: Any) -> dict[str, Any]:
        answer = super()._auth_test(request)
        return {**answer, "app_id": APP_ID} if self.app_id_in_auth_test else answer


@pytest.fixture
def slack():
    with OriginSlack(scopes="chat:write,commands,usergroups:read") as server:
        yield server


@pytest.fixture
def bot(slack, tmp_path):
    bot = Bot(slack, tmp_path)
    yield bot
    bot.stop()


def refusals(bot: Bot) -> list[audit.AuditEvent]:
    return [e for e in reversed(audit.recent(bot.storage, 1000)) if e.action == "refused"]


class Sent:
    """An interaction posted to the bot: its HTTP status and body, and where the bot answers it later."""

    def __init__(self, bot: Bot, payload: dict[str, Any]):
        self.slack = bot.slack
        self.payload = payload
        self.response_url = payload["response_url"]
        self.headers = sign_request(interactive_form(payload), SECRET)
        self.status, self.body = bot.post(interactive_form(payload), self.headers)

    def answers(self) -> list[str]:
        return [r.body.get("text", "") for r in self.slack.responses(self.response_url)]

    def answer(self) -> str:
        return self.slack.wait_for_response(count=1, timeout=10, url_id=self.response_url)[-1].body["text"]


def interaction(bot: Bot, payload: dict[str, Any], team: str = TEAM_ID, app: str = APP_ID, **extra: Any) -> Sent:
    """POST an interaction payload as Slack would, from `team` and `app`."""
    origin = {"team": {"id": team}, "api_app_id": app, "response_url": bot.slack.new_response_url()}
    return Sent(bot, {**origin, **payload, **extra})


def click(bot: Bot, action_id: str, value: str, user: str, block_id: str = "b", **origin: Any) -> Sent:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": f"{time.time()}.trigger",
        "container": {"type": "message", "channel_id": APPROVALS},
        "channel": {"id": APPROVALS},
        "actions": [{"action_id": action_id, "block_id": block_id, "type": "button", "value": value}],
    }
    return interaction(bot, payload, **origin)


def approve(bot: Bot, message: dict[str, Any], user: str) -> str:
    """Click Approve on the request's message as `user`; what the bot answers them."""
    count = len(bot.slack.responses())
    assert bot.click(message, "request_approve", user) == 200
    return bot.slack.wait_for_response(count=count + 1, timeout=10)[-1].body["text"]


# --- replays ------------------------------------------------------------------------------------------------


def test_a_replayed_signed_command_is_answered_once_and_makes_one_request(bot, slack):
    body = slack.slash_command_form("relay set list close the open relay", user_id=OPERATOR)
    headers = sign_request(body, SECRET)
    status, first = bot.post(body, headers)
    assert status == 200 and "Preparing the change request" in first["text"]
    request_id, _ = bot.request_message()
    status, replayed = bot.post(body, headers)  # the same signature and timestamp, within Slack's 5 minutes
    assert status == 200 and replayed == {}
    [refused] = refusals(bot)
    assert refused.actor == OPERATOR and "replayed request" in refused.outcome and "/ibmi" in refused.outcome
    assert [r.id for r in store.pending(bot.storage)] == [request_id]
    assert [e.action for e in audit.recent(bot.storage, 100)].count("request") == 1


def test_a_replayed_click_is_refused_and_a_fresh_signature_of_the_same_click_is_answered(bot, slack):
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    sent = click(bot, "request_approve", request_id, STRANGER, f"request:DEMO:{request_id}")
    assert sent.status == 200 and "Only approvers" in sent.answer()
    replayed = bot.post(interactive_form(sent.payload), sent.headers)
    assert replayed == (200, {})
    assert refusals(bot)[-1].outcome.startswith("refused: click request_approve: a replayed request")
    # Slack's own retry is signed anew: another timestamp than the first signature's, whenever the clock's second ticks
    another_second = int(sent.headers["X-Slack-Request-Timestamp"]) - 1
    resigned = sign_request(interactive_form(sent.payload), SECRET, timestamp=another_second)
    assert bot.post(interactive_form(sent.payload), resigned)[0] == 200
    assert len(bot.slack.wait_for_response(count=2, timeout=10, url_id=sent.response_url)) == 2
    assert [e.outcome for e in refusals(bot)].count("refused: approve: not an approver") == 2


# --- another workspace, app or organisation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("team", "app", "extra", "why"),
    [
        (FOREIGN_TEAM, APP_ID, {}, f"team_id {FOREIGN_TEAM} is not the bot's workspace {TEAM_ID}"),
        (TEAM_ID, FOREIGN_APP, {}, f"api_app_id {FOREIGN_APP} is not the bot's app {APP_ID}"),
        (TEAM_ID, APP_ID, {"enterprise": {"id": "E0ELSEWHERE"}}, "enterprise_id E0ELSEWHERE is not"),
    ],
)
def test_a_click_from_another_workspace_app_or_organisation_is_refused_and_audited(bot, slack, team, app, extra, why):
    bot.command("relay set list close the open relay")
    request_id, _ = bot.request_message()
    block = f"request:DEMO:{request_id}"
    sent = click(bot, "request_approve", request_id, APPROVER, block, team=team, app=app, **extra)
    assert (sent.status, sent.body) == (200, {})
    [refused] = refusals(bot)
    assert refused.actor == APPROVER and why in refused.outcome
    assert refused.outcome.startswith("refused: click request_approve:")
    assert store.get(bot.storage, request_id).state == "pending" and store.get(bot.storage, request_id).approvals == ()
    assert sent.answers() == []  # nothing said to the clicker, nothing run
    assert bot.executions() == 0


def test_a_command_from_another_workspace_is_refused_silently(bot, slack):
    body = slack.slash_command_form("relay set list close the open relay", user_id=OPERATOR)
    body = body.replace(f"team_id={TEAM_ID}", f"team_id={FOREIGN_TEAM}")
    assert bot.post(body) == (200, {})
    [refused] = refusals(bot)
    assert refused.outcome == f"refused: /ibmi: team_id {FOREIGN_TEAM} is not the bot's workspace {TEAM_ID}"
    assert store.pending(bot.storage) == []


def test_the_app_id_may_come_from_the_configuration_when_auth_test_does_not_name_it(tmp_path):
    with OriginSlack(app_id_in_auth_test=False, scopes="chat:write,commands,usergroups:read") as slack:
        bot = Bot(slack, tmp_path, text_changes={'command = "/ibmi"': f'command = "/ibmi"\napp_id = "{APP_ID}"'})
        try:
            sent = click(bot, ACTION_SILENCE, "fp", OPERATOR, app=FOREIGN_APP)
            assert (sent.status, sent.body) == (200, {})
            assert f"api_app_id {FOREIGN_APP} is not the bot's app {APP_ID}" in refusals(bot)[0].outcome
        finally:
            bot.stop()


# --- an approver removed since their approval ---------------------------------------------------------------


def test_an_approver_removed_from_the_configuration_no_longer_counts_at_execution(slack, tmp_path):
    bot = Bot(slack, tmp_path, min_approvals=2)
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    assert "Approval counted: 1 of 2" in approve(bot, message, APPROVER)
    bot.stop()
    bot = Bot(slack, tmp_path, min_approvals=2, approvers=(SECOND, THIRD))  # APPROVER taken out of [roles]
    try:
        answer = approve(bot, message, SECOND)
        assert f"Not run: <@{APPROVER}> is no longer an approver of `relay-set`" in answer
        assert "1 of 2 approvals count" in answer and f"{request_id} stays pending" in answer
        assert store.get(bot.storage, request_id).state == "pending" and bot.executions() == 0
        [refused] = refusals(bot)
        assert (refused.actor, refused.subject) == (SECOND, request_id)
        assert (
            refused.outcome == f"refused: execute: approvals no longer count ({APPROVER} no longer approvers): 1 of 2"
        )
        approve(bot, message, THIRD)
        assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    finally:
        bot.stop()


def test_an_approver_removed_from_the_user_group_no_longer_counts_at_execution(slack, tmp_path):
    slack.add_usergroup("S0SECOPS", handle="security-team", users=[APPROVER, SECOND])
    bot = Bot(slack, tmp_path, min_approvals=2, approvers=("@security-team",))
    try:
        bot.command("relay set list close the open relay")
        request_id, message = bot.request_message()
        assert "Approval counted: 1 of 2" in approve(bot, message, APPROVER)
        slack.add_usergroup("S0SECOPS", handle="security-team", users=[SECOND, THIRD])  # APPROVER leaves it
        bot.clock.advance(11)  # a resolution older than 10 s is asked for again
        assert f"Not run: <@{APPROVER}> is no longer an approver" in approve(bot, message, SECOND)
        assert store.get(bot.storage, request_id).state == "pending" and bot.executions() == 0
        assert [r.subject for r in refusals(bot)] == [request_id]
        approve(bot, message, THIRD)
        assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
        assert store.get(bot.storage, request_id).approvals == (APPROVER, SECOND, THIRD)
    finally:
        bot.stop()


# --- every refusal is one audit row -------------------------------------------------------------------------


@pytest.fixture
def viewers_bot(slack, tmp_path):
    listed = ", ".join(f'"{user}"' for user in (VIEWER, OPERATOR, APPROVER, SECOND))
    bot = Bot(slack, tmp_path, text_changes={"viewers = []": f"viewers = [{listed}]"})
    yield bot
    bot.stop()


def test_slash_command_refusals_are_audited_once_each(viewers_bot):
    bot = viewers_bot
    _, body = bot.command("status", user=STRANGER)
    assert "Only viewers" in body["text"]
    _, body = bot.command("relay set list close it", user=VIEWER)
    assert "Only operators" in body["text"]
    _, body = bot.command("silence 210.107.73.73 4h vendor test", user=VIEWER)
    assert "Only operators" in body["text"]
    stranger, relay, silence = refusals(bot)
    assert (stranger.actor, stranger.outcome) == (STRANGER, "refused: /ibmi status: not one of the viewers")
    assert (relay.actor, relay.system, relay.subject) == (VIEWER, "DEMO", "relay set list close it")
    assert relay.outcome == "refused: /ibmi relay: not one of the operators or approvers"
    assert silence.outcome == "refused: /ibmi silence: not one of the operators or approvers"
    assert store.pending(bot.storage) == []


@pytest.mark.parametrize(
    ("action_id", "verb"),
    [(ACTION_SILENCE, "silence"), (ACTION_TRUST, "trust from an alert"), (ACTION_END, "end-connection from an alert")],
)
def test_alert_button_refusals_are_audited_once_each(bot, slack, action_id, verb):
    sent = click(bot, action_id, "fp-telnet", VIEWER)
    assert sent.status == 200 and sent.answer().startswith("Only operators or approvers may")
    [refused] = refusals(bot)
    assert (refused.actor, refused.subject) == (VIEWER, "fp-telnet")
    assert refused.outcome == f"refused: {verb}: not one of the operators or approvers"
    assert slack.calls_to("views.open") == []


def test_form_refusals_are_audited_once_each(bot):
    smtp_form = {"callback_id": "smtp_add_entry", "private_metadata": "DEMO"}
    accept = {"value": {"type": "static_select", "selected_option": {"value": "*ACCEPT"}}}
    values = {"type": accept, "address": text_input("10.1.1.0"), "mask": text_input(""), "reason": text_input("x")}
    alert_form = {
        "callback_id": "alert_request_reason",
        "private_metadata": json.dumps({"fingerprint": "fp-telnet", "action": "trust"}),
    }
    for form, form_values in ((smtp_form, values), (alert_form, {"reason": text_input("trusted vendor")})):
        payload = {"type": "view_submission", "user": {"id": STRANGER}}
        view = {**form, "type": "modal", "id": "V0FORM", "state": {"values": form_values}}
        sent = interaction(bot, payload, view=view)
        assert sent.status == 200 and sent.body["response_action"] == "errors"
        assert "Only operators or approvers" in sent.body["errors"]["reason"]
    smtp, alert = refusals(bot)
    assert (smtp.system, smtp.subject, smtp.outcome) == (
        "DEMO",
        "*ACCEPT 10.1.1.0",
        "refused: smtp add (form): not one of the operators or approvers",
    )
    assert (alert.subject, alert.outcome) == (
        "fp-telnet",
        "refused: trust from an alert (form): not one of the operators or approvers",
    )
    assert store.pending(bot.storage) == []


def test_an_approval_refusal_is_one_audit_row_too(bot):
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    assert "Only approvers" in approve(bot, message, STRANGER)
    [refused] = refusals(bot)
    assert (refused.actor, refused.subject, refused.outcome) == (
        STRANGER,
        request_id,
        "refused: approve: not an approver",
    )
