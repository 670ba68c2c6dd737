"""SMTP list changes take effect only when SMTP restarts: the approver is told so before and after, and an
approved `smtp restart` ends and starts the SMTP server on the demo IBM i."""

from __future__ import annotations

import json
import time

import pytest

from bot.command_parsing import SmtpRestartRequest
from bot.ibmi import sql
from storage import audit
from tests.slack_server import SlackTestServer
from tests.test_approvals_e2e import APPROVALS, APPROVER, OPERATOR, Bot

ADD = "QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.9.9.0') SUBNETMASK('255.255.255.0')"


@pytest.fixture
def slack():
    with SlackTestServer(scopes="chat:write,commands,usergroups:read") as server:
        yield server


@pytest.fixture
def bot(slack, tmp_path):
    bot = Bot(slack, tmp_path)
    yield bot
    bot.stop()


def executed_text(bot: Bot) -> str:
    [event] = [e for e in audit.recent(bot.storage, 100) if e.action == "execute"]
    return event.outcome


def test_an_approved_smtp_add_runs_the_shown_cl_and_says_smtp_must_restart(bot, slack):
    status, _ = bot.command("smtp add accept 10.9.9.0/24 branch office")
    assert status == 200
    request_id, message = bot.request_message()
    shown = json.dumps(message["blocks"])
    assert ADD in shown
    assert "list changes apply when SMTP next starts" in shown
    assert bot.click(message, "request_approve", APPROVER) == 200
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    outcome = executed_text(bot)
    assert f"{ADD}: completed" in outcome
    assert "must restart before this list change takes effect" in outcome
    assert "/ibmi smtp restart @DEMO" in outcome
    bot.deliver()
    replies = " ".join(r["text"] for r in slack.replies(APPROVALS, message["ts"]))
    assert "/ibmi smtp restart @DEMO" in replies and f"<@{OPERATOR}>" in replies


def test_an_approved_smtp_restart_ends_then_starts_the_smtp_server(bot, slack):
    connection = bot.parts.systems.connection("DEMO")
    before = {job.job_name for job in sql.read_smtp_jobs(connection)}
    status, body = bot.command("smtp restart the accept list changed")
    assert status == 200 and "Preparing the change request" in body["text"]
    request_id, message = bot.request_message()
    shown = json.dumps(message["blocks"])
    assert "QSYS/ENDTCPSVR SERVER(*SMTP)" in shown and "QSYS/STRTCPSVR SERVER(*SMTP)" in shown
    assert {job.job_name for job in sql.read_smtp_jobs(connection)} == before  # nothing runs before approval
    assert bot.click(message, "request_approve", APPROVER) == 200
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    outcome = executed_text(bot)
    end = outcome.index("QSYS/ENDTCPSVR SERVER(*SMTP): completed")
    assert outcome.index("QSYS/STRTCPSVR SERVER(*SMTP): completed") > end
    after = {job.job_name for job in sql.read_smtp_jobs(connection)}
    assert after and not after & before


def test_smtp_restart_is_an_operator_request_for_one_system(bot):
    status, body = bot.command("smtp restart", user="U09STRANGER")
    assert status == 200 and "Preparing" not in body.get("text", "")
    assert SmtpRestartRequest().action == "smtp-restart"


def test_the_smtp_relay_check_says_a_list_change_is_pending_until_smtp_restarts(bot, slack):
    def subjects() -> set[str]:
        findings, error = bot.parts.checks.run_check("DEMO", "smtp-relay")
        assert error is None
        return {finding.subject for finding in findings}

    assert "smtp-restart-pending" not in subjects()
    bot.clock.time = time.time()  # the bot's clock is the demo's: the change is approved after its jobs started
    bot.command("smtp add accept 10.9.9.0/24 branch office")
    request_id, message = bot.request_message()
    bot.click(message, "request_approve", APPROVER)
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    assert "smtp-restart-pending" in subjects()
    status, body = bot.command("smtp restart apply the change")
    assert status == 200, body
    request_id, message = bot.request_message()
    bot.click(message, "request_approve", APPROVER)
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    assert "smtp-restart-pending" not in subjects()
