"""What Slack shows of the bot's text, end to end against the Slack test server: text the user typed is shown
and stored as typed (Slack's escaping undone once, at the edge), mentions in it never notify, IBM i values
never break bold, and the wording of acks, results, reminders and the digest."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.config import Secrets
from bot.slack.digest import post_digest
from bot.wiring import build_bot
from handlers.commands.smtp import COMMAND as SMTP_COMMAND
from storage import approvals as store
from storage import audit
from tests import test_approvals_e2e
from tests.mrkdwn_seen import live_mentions, mrkdwn_texts, shown, stray_stars
from tests.slack_server import SlackTestServer
from tests.test_alerts_e2e import ALERTS, FakeClock, cycle, make_config
from tests.test_approvals_e2e import APPROVALS, APPROVER, OPERATOR, Bot, text_input, view_submission

README = Path(__file__).resolve().parents[1] / "README.md"
TYPED = "<!channel> R&D"
slack, bot = test_approvals_e2e.slack, test_approvals_e2e.bot  # the same fixtures


def opened_form(slack: SlackTestServer, count: int = 1) -> dict[str, Any]:
    opened = slack.wait_for("views.open", count=count, timeout=10)[-1]
    view = opened.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def request_for(bot: Bot, address: str) -> tuple[store.ChangeRequest, dict[str, Any]]:
    """The pending request naming `address` and its approval message, polled until posted (as
    `Bot.request_message` does)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        bot.deliver()
        for request in store.pending(bot.storage):
            if address not in json.dumps(request.params):
                continue
            for message in bot.slack.messages(APPROVALS):
                if request.id in json.dumps(message.get("blocks", [])):
                    return request, message
        time.sleep(0.05)
    raise AssertionError(f"no request for {address} was posted")


def audited_request(bot: Bot, request_id: str) -> audit.AuditEvent:
    [row] = [e for e in audit.recent(bot.storage, 1000) if e.action == "request" and e.subject == request_id]
    return row


def everything_sent(slack: SlackTestServer) -> list[Any]:
    """Every message, update, view and answer the bot sent to Slack."""
    sent: list[Any] = [call.params for call in slack.calls]
    sent += [response.body for response in slack.responses()]
    return sent


# --- item 5: what the user typed, stored and shown as typed -----------------------------------------------


def test_a_reason_is_stored_alike_from_command_and_form_and_shown_as_typed_without_a_live_mention(bot, slack):
    bot.command(f"smtp add accept 10.9.8.0 255.255.255.0 {TYPED}")
    by_command, command_message = request_for(bot, "10.9.8.0")
    bot.command("smtp add")
    accept = {"value": {"type": "static_select", "selected_option": {"value": "*ACCEPT"}}}
    values = {
        "type": accept,
        "address": text_input("10.9.7.0"),
        "mask": text_input("255.255.255.0"),
        "reason": text_input(TYPED),  # Slack sends form values as typed, unescaped
    }
    assert view_submission(bot, opened_form(slack), OPERATOR, values)[0] == 200
    by_form, form_message = request_for(bot, "10.9.7.0")

    assert by_command.reason == by_form.reason == TYPED
    command_row, form_row = audited_request(bot, by_command.id), audited_request(bot, by_form.id)
    assert command_row.details["reason"] == form_row.details["reason"] == TYPED
    for message in (command_message, form_message):
        texts = mrkdwn_texts(message["blocks"])
        assert f"Requested by <@{OPERATOR}>: {TYPED}" in [line for t in texts for line in shown(t).split("\n")]
        assert all(mention == f"<@{OPERATOR}>" for t in texts for mention in live_mentions(t))
        assert "&amp;" not in shown("\n".join(texts))


def test_text_typed_with_slack_escapes_reaches_the_parser_as_typed(bot):
    _, body = bot.command("trace <!here>&co")
    assert "`&lt;!here&gt;&amp;co` is not an IP address" in body["text"]  # escaped once: shown as typed
    assert "`<!here>&co` is not an IP address" in shown(body["text"]) and not live_mentions(body["text"])


# --- item 6: IBM i values never break bold ----------------------------------------------------------------


def test_no_ibm_i_value_breaks_bold_in_anything_the_bot_sends(bot, slack):
    bot.parts.checks.run_cycle()
    bot.deliver()
    bot.command("smtp add accept 10.9.6.0 255.255.255.0 branch office")
    request, message = request_for(bot, "10.9.6.0")
    bot.click(message, "request_approve", APPROVER)
    bot.wait_for_state(request.id, ("done", "failed", "unknown"))
    bot.command("relay set list close the open relay")
    request_for(bot, "ALWRLY")
    for command in ("status", "approvals", "audit 30", "smtp list"):
        bot.command(command)
    post_digest(bot.storage, bot.parts.config, bot.clock.now())
    bot.deliver()
    slack.wait_for_response(count=3, timeout=15)
    home = bot.open_home(APPROVER)
    assert "`ALWRLY(*LIST)`" in "\n".join(mrkdwn_texts(home))  # the pending request, on the Home

    texts = [text for payload in everything_sent(slack) for text in mrkdwn_texts(payload)]
    everything = "\n".join(texts)
    assert "`*ACCEPT` entry 0.0.0.0 mask 0.0.0.0 accepts relay from every address" in everything
    assert "`DSPDTA(*YES)` with `*PUBLIC` `*USE`" in everything
    assert "`QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.9.6.0') SUBNETMASK('255.255.255.0')`" in everything
    assert [line for text in texts for line in stray_stars(text)] == []


# --- item 9: wording -------------------------------------------------------------------------------------


def test_smtp_add_alone_opens_the_form_without_a_reading_ack(bot, slack):
    status, body = bot.command("smtp add")
    assert status == 200 and body == {}
    assert opened_form(slack)["callback_id"] == "smtp_add_entry"


def test_a_trust_request_names_its_system_once(bot):
    bot.command("trust 198.51.100.0/24 vendor VPN")
    request, message = request_for(bot, "198.51.100.0/24")
    text = "\n".join(mrkdwn_texts(message["blocks"])) + message["text"]
    assert "on DEMO on DEMO" not in text and "*Trust 198.51.100.0/24* on *DEMO*" in text
    _, body = bot.command("approvals")
    assert "on DEMO on DEMO" not in body["text"]


def test_the_readme_smtp_add_example_runs_on_the_demo_and_the_approver_is_told_in_words(bot, slack):
    [example] = re.findall(r"`/ibmi (smtp add accept [^`]+)`", README.read_text())
    assert example == SMTP_COMMAND.example  # what `/ibmi help` shows
    bot.command(example)
    address = example.split()[3]
    request, message = request_for(bot, address)
    bot.click(message, "request_approve", APPROVER)
    assert bot.wait_for_state(request.id, ("done", "failed", "unknown")) == "done"
    answers = [r.body["text"] for r in slack.wait_for_response(count=2, timeout=15)]
    assert f"Approved; {request.id} ran and is done." in answers


def test_a_failed_change_is_said_in_words(bot, slack):
    bot.command("smtp add accept 10.1.1.0 255.255.255.0 exists on the demo already")
    request, message = request_for(bot, "10.1.1.0")
    bot.click(message, "request_approve", APPROVER)
    assert bot.wait_for_state(request.id, ("done", "failed", "unknown")) == "failed"
    answers = [r.body["text"] for r in slack.wait_for_response(count=2, timeout=15)]
    assert f"Approved; {request.id} ran and failed." in answers
    bot.deliver()
    replies = [m["text"] for m in slack.messages(APPROVALS) if m.get("thread_ts")]
    assert any(f"request {request.id} ran and failed: " in reply for reply in replies)
    assert not any(" is failed" in text for text in answers + replies)


def test_a_reminder_within_the_first_hour_counts_minutes(slack, tmp_path):
    config = make_config(tmp_path)
    config = replace(config, alerts=replace(config.alerts, repeat_interval=30 * 60.0))
    clock = FakeClock()
    parts = build_bot(config, Secrets(slack_bot_token=slack.bot_token, slack_api_url=slack.base_url), clock=clock)
    try:
        cycle(parts, clock)
        clock.advance(30 * 60)
        cycle(parts, clock)
        reminders = [m["text"] for m in slack.messages(ALERTS) if "Still open" in m.get("text", "")]
        assert reminders and all("Still open after 30m" in text for text in reminders)
    finally:
        parts.close()


def test_the_digest_mentions_people(bot, slack):
    bot.command("relay set list close the open relay")
    bot.command("silence 210.107.73.73 4h vendor test")
    request_for(bot, "ALWRLY")
    post_digest(bot.storage, bot.parts.config, bot.clock.now())
    bot.deliver()
    [digest] = [m for m in slack.messages() if "daily digest" in m.get("text", "")]
    text = "\n".join(mrkdwn_texts(digest["blocks"]))
    assert f"(by <@{OPERATOR}>," in text and f"by {OPERATOR}" not in text
