"""The alert pipeline's stages one by one (bot/alerting): diff, silence, route, group, render, enqueue.

The whole lifecycle against Slack is in test_alerts_e2e.py; here each stage is a function of plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import __version__
from bot.alerting.diff import CLEAN, NEW, OPEN, REMINDER, REOPENED, RESOLVED, SILENCED, UNROUTED, Change, diff
from bot.alerting.enqueue import enqueue, messages_to_rerender
from bot.alerting.lifecycle import LifecycleResult
from bot.alerting.render import SEVERITY_MARK, details_reply, group_message, thread_reply
from bot.alerting.routing import Group, group, route
from bot.alerting.silences import silence
from bot.checks import registry
from bot.checks.finding import Finding
from bot.config import AlertSettings, Route
from storage import open_database, outbox
from storage.alerts import AlertMessage, AlertRecord, Silence, alert, messages_of

NOW = 1_800_000_000.0
HOUR = 3600.0
SETTINGS = AlertSettings(repeat_interval=24 * HOUR, resolve_after=2)


def finding(subject: str, severity: str = "warning", **facts: str) -> Finding:
    return Finding("PROD", "unknown-connections", severity, subject, f"connection from {subject}", facts=facts)


def stored(subject: str, state: str = "open", **changes: object) -> AlertRecord:
    record = AlertRecord(
        fingerprint=finding(subject).fingerprint,
        system="PROD",
        check="unknown-connections",
        subject=subject,
        severity="warning",
        title=f"connection from {subject}",
        state=state,
        first_seen=NOW - 2 * HOUR,
        last_seen=NOW - HOUR,
        last_notified_at=NOW - 2 * HOUR,
        finding=finding(subject).to_json(),
    )
    return record.with_changes(**changes)


def posted(*subjects: str) -> dict[str, list[AlertMessage]]:
    return {finding(s).fingerprint: [AlertMessage(finding(s).fingerprint, "C0ALERTS", f"alerts:{s}")] for s in subjects}


def run(existing: list[AlertRecord], findings: list[Finding], messages: dict[str, list[AlertMessage]]) -> list[Change]:
    return diff({r.fingerprint: r for r in existing}, findings, NOW, SETTINGS, lambda f: messages.get(f, []))


def events(changes: list[Change]) -> dict[str, str]:
    return {change.record.subject: change.event for change in changes}


def test_a_fingerprint_is_the_same_whenever_asked_and_leaves_the_finding_equal_to_its_copies():
    first, copy = finding("203.0.113.9"), finding("203.0.113.9")
    assert first.fingerprint == first.fingerprint == "580d86682379c287"  # stored alerts are keyed by it
    assert first == copy and replace(first, system="prod").fingerprint == first.fingerprint
    assert replace(first, subject="203.0.113.10").fingerprint != first.fingerprint


def test_a_finding_tells_whether_it_is_the_one_stored_as_comparing_its_json_would():
    base = Finding("PROD", "unknown-connections", "warning", "203.0.113.9", "t", ("a", "b"), {"n": [1, {"x": 2}]})
    stored_json = base.to_json()
    variants = [
        base,
        replace(base, title="other"),
        replace(base, severity="critical"),
        replace(base, details=("a",)),
        replace(base, details=("a", "b", "c")),
        replace(base, facts={"n": [1, {"x": 3}]}),
        replace(base, facts={}),
        replace(base, system="prod"),  # the same fingerprint, another spelling stored
        replace(base, subject="203.0.113.10"),
    ]
    stored_forms = [
        stored_json,
        {**stored_json, "facts": {**stored_json["facts"], "owner": "X"}},
        {**stored_json, "extra": 1},
    ]
    stored_forms += [{k: v for k, v in stored_json.items() if k != "details"}, {**stored_json, "details": ("a", "b")}]
    for variant in variants:
        for form in stored_forms:
            assert variant.is_stored_as(form) == (variant.to_json() == form), (variant, form)
    assert base.is_stored_as(stored_json) and not replace(base, title="other").is_stored_as(stored_json)


# --- diff ----------------------------------------------------------------------------------------------------


def test_diff_names_each_alert_s_event():
    existing = [
        stored("open"),
        stored("due", last_notified_at=NOW - 25 * HOUR),
        stored("back", state="resolved", resolved_at=NOW - HOUR),
        stored("gone"),
        stored("gone twice", clean_runs=1),
        stored("long resolved", state="resolved"),
        stored("never posted"),
    ]
    findings = [finding(s) for s in ("new", "open", "due", "back", "never posted")]
    changes = run(existing, findings, posted("open", "due", "back", "gone", "gone twice", "long resolved"))
    assert events(changes) == {
        "new": NEW,
        "open": OPEN,
        "due": REMINDER,
        "back": REOPENED,
        "never posted": NEW,
        "gone": CLEAN,
        "gone twice": RESOLVED,
    }
    assert [c.record.subject for c in changes][:5] == ["new", "open", "due", "back", "never posted"]


def test_diff_records_the_state_to_store_and_leaves_notification_times_alone():
    changes = run(
        [stored("due", last_notified_at=NOW - 25 * HOUR), stored("gone"), stored("gone twice", clean_runs=1)],
        [finding("due", "critical"), finding("new")],
        posted("due", "gone twice"),
    )
    by_subject = {c.record.subject: c for c in changes}
    due = by_subject["due"]
    assert due.record.severity == "critical" and due.record.last_seen == NOW and due.record.clean_runs == 0
    assert due.record.last_notified_at == NOW - 25 * HOUR  # the enqueue stage marks it when the reminder goes out
    assert due.previous is not None and due.previous.severity == "warning"
    new = by_subject["new"].record
    assert (new.state, new.first_seen, new.last_seen, new.last_notified_at) == ("open", NOW, NOW, None)
    assert by_subject["gone"].record.clean_runs == 1 and by_subject["gone"].record.state == "open"
    resolved = by_subject["gone twice"]
    assert resolved.record.state == "resolved" and resolved.record.resolved_at == NOW
    assert resolved.messages == tuple(posted("gone twice")[finding("gone twice").fingerprint])


def test_an_alert_reported_again_as_stored_has_nothing_to_store_unless_something_is_said():
    kept, due = stored("kept"), stored("due", last_notified_at=NOW - 25 * HOUR)
    back = stored("back", state="resolved", resolved_at=NOW - HOUR, clean_runs=3)
    changes = run([kept, due, back], [finding("kept"), finding("due"), finding("back")], posted("kept", "due", "back"))
    assert [c.event for c in changes] == [OPEN, REMINDER, REOPENED]
    assert changes[0].record is kept  # its check's run time tells when it was last seen
    assert changes[1].record == due.with_changes(last_seen=NOW) and changes[1].record.finding is due.finding
    assert changes[2].record == back.with_changes(state="open", resolved_at=None, clean_runs=0, last_seen=NOW)


def test_diff_keeps_the_owner_already_added_and_the_last_of_equal_fingerprints():
    owned = stored("a", finding={**finding("a").to_json(), "facts": {"owner": "ACME"}})
    [change] = run([owned], [finding("a", "info"), finding("a", "critical", remote_address="a")], posted("a"))
    assert change.record.severity == "critical"
    assert change.record.finding["facts"] == {"remote_address": "a", "owner": "ACME"}


# --- silence ---------------------------------------------------------------------------------------------------


def a_silence(kind: str, matcher: str) -> Silence:
    return Silence(1, kind, matcher, "test", "U01OPERATOR", NOW - HOUR, NOW + HOUR)


def test_silence_holds_back_reported_alerts_by_fingerprint_or_address():
    changes = run(
        [stored("gone")],
        [
            finding("by-fingerprint"),
            finding("203.0.113.9"),
            finding("host", remote_address="198.51.100.7"),
            finding("x"),
        ],
        posted("gone"),
    )
    silences = [
        a_silence("fingerprint", finding("by-fingerprint").fingerprint),
        a_silence("address", "203.0.113.9"),
        a_silence("address", "198.51.100.7"),
        a_silence("address", "gone"),  # a run that no longer reports an alert is not held back
    ]
    assert events(silence(changes, silences, NOW)) == {
        "by-fingerprint": SILENCED,
        "203.0.113.9": SILENCED,
        "host": SILENCED,
        "x": NEW,
        "gone": CLEAN,
    }


def test_a_resolved_alert_back_during_a_silence_stays_resolved():
    resolved = stored("back", state="resolved", resolved_at=NOW - HOUR)
    [change] = silence(run([resolved], [finding("back")], posted("back")), [a_silence("address", "back")], NOW)
    assert change.event == SILENCED
    assert change.record == resolved.with_changes(last_seen=NOW)


# --- route and group -------------------------------------------------------------------------------------------


ROUTES = (Route("C0ALL", "info"), Route("C0URGENT", "critical"))


def test_route_holds_back_what_no_channel_takes():
    changes = run([], [finding("info", "info"), finding("crit", "critical")], {})
    assert events(route(changes, (Route("C0URGENT", "critical"),))) == {"info": UNROUTED, "crit": NEW}
    assert events(route(changes, ROUTES)) == {"info": NEW, "crit": NEW}


def test_group_makes_one_message_per_channel_in_the_order_of_the_routes():
    changes = run([stored("open")], [finding("w"), finding("c", "critical"), finding("open")], posted("open"))
    groups = group("PROD", "unknown-connections", changes, ROUTES)
    assert [(g.channel, [a.subject for a in g.alerts]) for g in groups] == [
        ("C0ALL", ["w", "c"]),
        ("C0URGENT", ["c"]),
    ]
    assert group("PROD", "unknown-connections", run([stored("open")], [finding("open")], posted("open")), ROUTES) == []


# --- render --------------------------------------------------------------------------------------------------


def test_thread_replies_say_what_changed_and_nothing_otherwise():
    changes = run(
        [
            stored("due", last_notified_at=NOW - 25 * HOUR),
            stored("back", state="resolved"),
            stored("gone", clean_runs=1),
        ],
        [finding("due"), finding("back"), finding("new")],
        posted("due", "back", "gone"),
    )
    texts = {c.record.subject: (thread_reply(c, NOW) or {}).get("text") for c in changes}
    assert texts == {
        "due": ":hourglass: *Still open after 2h:* connection from due",
        "back": ":large_orange_circle: *Back again:* connection from back",
        "gone": ":white_check_mark: *Resolved:* connection from gone",
        "new": None,
    }


def test_address_buttons_and_owner_lookup_are_for_address_checks():
    assert registry.about_address("unknown-connections")
    assert not registry.about_address("smtp-relay")
    smtp = replace(stored("relay"), check="smtp-relay")
    buttons = [b for b in group_message("PROD", "smtp-relay", [smtp])["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons[0]["elements"]] == ["alert_silence_24h"]


def test_a_large_group_shows_lists_and_names_its_alerts_most_severe_then_oldest_first():
    severities = ("info", "warning", "critical")
    alerts = [
        stored(f"203.0.113.{n % 250}-{n}", severity=severities[n % 3], first_seen=NOW - (n % 4) * HOUR)
        for n in range(520)
    ]
    rank = {"info": 0, "warning": 1, "critical": 2}
    ordered = sorted(alerts, key=lambda a: (-rank[a.severity], a.first_seen, a.subject))
    message = group_message("PROD", "unknown-connections", alerts)
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert [text.splitlines()[0] for text in sections[:15]] == [
        f"{SEVERITY_MARK[a.severity]} *connection from {a.subject}*" for a in ordered[:15]
    ]
    named = ", ".join(a.subject for a in ordered[15:75])
    assert sections[15] == f"*505 more:* {named} and 445 more. Details in the thread."
    lines = "\n".join(b["text"]["text"] for b in details_reply(alerts)["blocks"]).splitlines()
    assert lines[:400] == [f"{SEVERITY_MARK[a.severity]} connection from {a.subject}" for a in ordered[:400]]
    assert lines[400:] == ["…and 120 more; `ibmi-warden check --json` lists them all."]


# --- enqueue ---------------------------------------------------------------------------------------------------


def test_messages_to_rerender_are_those_of_reopened_and_resolved_alerts_once_each():
    messages = {
        **posted("back", "gone", "due"),
        finding("both").fingerprint: posted("gone")[finding("gone").fingerprint],
    }
    changes = run(
        [
            stored("back", state="resolved"),
            stored("gone", clean_runs=1),
            stored("both", clean_runs=1),
            stored("due", last_notified_at=0.0),
        ],
        [finding("back"), finding("due")],
        messages,
    )
    assert messages_to_rerender(changes) == ["alerts:back", "alerts:gone"]


@pytest.fixture
def storage(tmp_path: Path):
    storage = open_database(tmp_path / "warden.db", __version__)
    yield storage
    storage.close()


def test_enqueue_stores_the_state_and_its_messages_in_order(storage):
    reminder = stored("due", last_notified_at=NOW - 25 * HOUR)
    changes = run([reminder], [finding("due"), finding("new")], posted("due"))
    groups = [Group("PROD", "unknown-connections", "C0ALL", (changes[1].record,))]

    def render(system: str, check: str, alerts: Sequence[AlertRecord]) -> dict[str, Any]:
        return {"text": f"{system} {check} {len(alerts)}"}

    with storage.transaction():
        enqueue(storage, changes, groups, NOW, render)
    items = outbox.items(storage)
    assert [(i.channel, i.method, i.payload["text"]) for i in items] == [
        ("C0ALERTS", "chat.postMessage", ":hourglass: *Still open after 2h:* connection from due"),
        ("C0ALL", "chat.postMessage", "PROD unknown-connections 1"),
    ]
    assert items[0].thread_key == "alerts:due" and items[1].message_key.startswith("alerts:")
    assert alert(storage, finding("due").fingerprint).last_notified_at == NOW
    assert alert(storage, finding("new").fingerprint).last_notified_at == NOW
    assert [m.message_key for m in messages_of(storage, finding("new").fingerprint)] == [items[1].message_key]


def test_the_lifecycle_result_lists_fingerprints_by_event():
    changes = run(
        [stored("back", state="resolved"), stored("gone", clean_runs=1)],
        [finding("new"), finding("back")],
        posted("back", "gone"),
    )
    result = LifecycleResult.of(changes)
    assert result.new == [finding("new").fingerprint] and result.reopened == [finding("back").fingerprint]
    assert result.resolved == [finding("gone").fingerprint] and result.changed
    assert not LifecycleResult.of([c for c in changes if c.event == CLEAN]).changed
