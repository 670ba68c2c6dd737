"""The relay policy ibmi-warden set by approval is known until an attestation or the probe contradicts it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.changes.smtp_restart import approved_smtp_changes
from bot.checks.definition import ApprovedSmtpChanges
from bot.checks.smtp_relay import SmtpRelaySettings, evaluate
from bot.checks.smtp_relay.probe import ProbeResult
from bot.ibmi import sql
from bot.ibmi.rows import ActiveJob, RelayPolicy, SmtpListReading, SmtpStatus
from storage import audit
from tests.slack_server import SlackTestServer
from tests.test_approvals_e2e import APPROVER, Bot

SERVER = ActiveJob("012301/QTCP/QTSMTPSRVD", "SELW", "QSYSWRK")
RELAY_UNKNOWN = RelayPolicy(None, "unknown", sql.RELAY_POLICY_UNREADABLE)
RUNNING = SmtpStatus(True, (SERVER,), RELAY_UNKNOWN)
NO_LISTS = SmtpListReading(readable=True, members=("ACCEPT", "REJECT"))
SET_AT = 1_796_000_000.0  # 2026-11-30 00:53 UTC


def approved(policy: str) -> ApprovedSmtpChanges:
    return ApprovedSmtpChanges(relay_policy=policy, relay_set_by=(APPROVER,), relay_set_at=SET_AT)


def probe(accepted: bool) -> ProbeResult:
    return ProbeResult(accepted=accepted, stage="rcpt", code=250 if accepted else 550, message="", host="192.0.2.5")


def test_a_restricted_policy_set_by_approval_is_known_so_it_is_not_unknown():
    assert evaluate("PROD", RUNNING, NO_LISTS, None, None, approved("*LIST")) == []


def test_an_open_policy_set_by_approval_is_critical_and_names_its_approver_and_time():
    [finding] = evaluate("PROD", RUNNING, NO_LISTS, None, None, approved("*ALL"))
    assert finding.severity == "critical"
    assert f"set by ibmi-warden (approved by <@{APPROVER}> at 2026-11-30 00:53 UTC)" in finding.title


def test_an_attestation_that_differs_replaces_the_recorded_policy():
    attested_all = SmtpRelaySettings(attested_policy="*ALL")
    [finding] = evaluate("PROD", RUNNING, NO_LISTS, None, attested_all, approved("*LIST"))
    assert "attested in config" in finding.title
    assert "set by ibmi-warden" not in json.dumps(finding.facts)
    assert evaluate("PROD", RUNNING, NO_LISTS, None, SmtpRelaySettings(attested_policy="*LIST"), approved("*ALL")) == []


@pytest.mark.parametrize(("policy", "accepted"), [("*NONE", True), ("*ALL", False)])
def test_a_probe_that_contradicts_the_recorded_policy_makes_it_unknown_again(policy: str, accepted: bool):
    findings = evaluate("PROD", RUNNING, NO_LISTS, probe(accepted), None, approved(policy))
    assert "set by ibmi-warden" not in json.dumps([f.title for f in findings] + [f.facts for f in findings])


@pytest.fixture
def slack():
    with SlackTestServer(scopes="chat:write,commands,usergroups:read") as server:
        yield server


@pytest.fixture
def bot(slack, tmp_path):
    bot = Bot(slack, tmp_path)
    yield bot
    bot.stop()


def test_an_approved_relay_set_is_recorded_as_known_with_its_approver(bot):
    assert approved_smtp_changes(bot.storage, "DEMO") == ApprovedSmtpChanges()
    findings, _ = bot.parts.checks.run_check("DEMO", "smtp-relay")
    assert "relay-policy-unknown" in {f.subject for f in findings}
    status, _ = bot.command("relay set list close the open relay")
    assert status == 200
    request_id, message = bot.request_message()
    assert bot.click(message, "request_approve", APPROVER) == 200
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    known = approved_smtp_changes(bot.storage, "DEMO")
    assert (known.relay_policy, known.relay_set_by) == ("*LIST", (APPROVER,)) and known.relay_set_at is not None
    [event] = [e for e in audit.recent(bot.storage, 100) if e.action == "execute"]
    assert "now knows the relay policy of DEMO" in event.outcome
    findings, _ = bot.parts.checks.run_check("DEMO", "smtp-relay")
    assert {f.subject for f in findings} & {"relay-policy-unknown", "relay-policy"} == set()


def jobs_started(moment: float | None) -> SmtpStatus:
    started = None if moment is None else datetime.fromtimestamp(moment, UTC)
    server = ActiveJob("012301/QTCP/QTSMTPSRVD", "SELW", "QSYSWRK", started)
    return SmtpStatus(True, (server,), RELAY_UNKNOWN)


def test_a_list_change_after_the_smtp_jobs_started_is_pending_a_restart():
    changed = ApprovedSmtpChanges(relay_policy="*LIST", list_changed_at=SET_AT)
    [finding] = evaluate("PROD", jobs_started(SET_AT - 3600), NO_LISTS, None, None, changed)
    assert (finding.subject, finding.severity) == ("smtp-restart-pending", "warning")
    assert finding.title == "SMTP list change pending SMTP restart"
    assert "/ibmi smtp restart @PROD" in " ".join(finding.details)
    assert evaluate("PROD", jobs_started(SET_AT + 1), NO_LISTS, None, None, changed) == []
    assert evaluate("PROD", jobs_started(None), NO_LISTS, None, None, changed) == []  # start time not read
    assert evaluate("PROD", jobs_started(SET_AT - 3600), NO_LISTS, None, None, approved("*LIST")) == []
