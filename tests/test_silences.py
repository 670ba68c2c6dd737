"""The one silence service (bot/alerting/silences.py), behind the Silence 24h button and /ibmi silence|unsilence.

Both ways in store the silence, audit it the same way and say it in the threads of the alerts it covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bot import __version__
from bot.alerting.silences import SilenceService
from bot.checks.finding import Finding
from storage import audit, open_database
from storage.alerts import AlertRecord, active_silences, save_alert
from storage.audit_verify import verify

NOW = 1_800_000_000.0
DAY = 86400.0


class Threads:
    """Stands in for AlertManager: records what would be said in an alert's threads, and which alerts'
    messages would be edited."""

    def __init__(self) -> None:
        self.replies: list[tuple[str, str]] = []
        self.refreshed: list[str] = []

    def reply(self, fingerprint: str, payload: dict[str, Any]) -> None:
        self.replies.append((fingerprint, payload["text"]))

    def refresh(self, fingerprints: Iterable[str]) -> None:
        self.refreshed += fingerprints


@pytest.fixture
def storage(tmp_path: Path):
    storage = open_database(tmp_path / "warden.db", __version__)
    yield storage
    storage.close()


@pytest.fixture
def threads() -> Threads:
    return Threads()


@pytest.fixture
def silences(storage, threads) -> SilenceService:
    return SilenceService(storage, lambda: NOW, threads)


def an_alert(storage, system: str, subject: str, title: str = "", state: str = "open", **facts: str) -> AlertRecord:
    finding = Finding(
        system, "unknown-connections", "warning", subject, title or f"connection from {subject}", facts=facts
    )
    record = AlertRecord(
        fingerprint=finding.fingerprint,
        system=system,
        check=finding.check,
        subject=subject,
        severity="warning",
        title=finding.title,
        state=state,
        first_seen=NOW - 60,
        last_seen=NOW - 60,
        finding=finding.to_json(),
    )
    save_alert(storage, record)
    return record


def test_the_button_on_an_alert_no_longer_known_stores_nothing(storage, silences, threads):
    assert (
        silences.silence_alert("0123456789abcdef", "U01OPERATOR", DAY, "r")
        == "That alert is no longer known to the bot."
    )
    assert active_silences(storage, NOW) == [] and audit.recent(storage) == [] and threads.replies == []


def test_the_button_silences_audits_and_says_so_in_the_thread(storage, silences, threads):
    record = an_alert(storage, "PROD", "203.0.113.9", title="AT&T <relay>")
    answer = silences.silence_alert(record.fingerprint, "U01OPERATOR", DAY, "silenced for 24h from the alert")
    assert answer == "Silenced for 24h: AT&amp;T &lt;relay&gt;"  # the answer is mrkdwn: the title is escaped
    [silence] = active_silences(storage, NOW)
    assert (silence.matcher_kind, silence.matcher, silence.expires_at) == ("fingerprint", record.fingerprint, NOW + DAY)
    [event] = audit.recent(storage)
    assert (event.action, event.system, event.subject, event.outcome) == (
        "silence",
        "PROD",
        record.fingerprint,
        f"until {int(NOW + DAY)}",
    )
    assert event.details == {"kind": "fingerprint", "seconds": DAY, "reason": "silenced for 24h from the alert"}
    [(fingerprint, text)] = threads.replies
    assert fingerprint == record.fingerprint and text.startswith(":zipper_mouth_face: Silenced by <@U01OPERATOR> until")


def test_the_command_audits_like_the_button_and_says_so_in_the_thread_of_a_known_fingerprint(
    storage, silences, threads
):
    record = an_alert(storage, "PROD", "203.0.113.9")
    assert silences.silence_target("fingerprint", record.fingerprint, 4 * 3600, "", "U01OPERATOR") == (
        f"Silenced {record.fingerprint} for 4h."
    )
    [silence] = active_silences(storage, NOW)
    assert silence.reason == "no reason given"
    [event] = audit.recent(storage)
    assert (event.system, event.details) == ("PROD", {"kind": "fingerprint", "seconds": 4 * 3600, "reason": ""})
    assert [f for f, _ in threads.replies] == [record.fingerprint]


def test_an_address_silence_is_said_in_the_threads_of_the_open_alerts_about_it_on_every_system(
    storage, silences, threads
):
    prod = an_alert(storage, "PROD", "203.0.113.9")
    test = an_alert(storage, "TEST", "listener", remote_address="203.0.113.9")
    an_alert(storage, "PROD", "198.51.100.7")
    an_alert(storage, "DEV", "203.0.113.9", state="resolved")
    assert silences.silence_target("address", "203.0.113.9", 3600, "vendor", "U01OPERATOR") == (
        "Silenced 203.0.113.9 for 1h."
    )
    assert sorted(f for f, _ in threads.replies) == sorted([prod.fingerprint, test.fingerprint])
    [event] = audit.recent(storage)
    assert event.system is None  # an address is silenced on every system


def test_a_fingerprint_not_seen_yet_may_be_silenced_ahead(storage, silences, threads):
    assert silences.silence_target("fingerprint", "0123456789abcdef", 3600, "soon", "U01OPERATOR") == (
        "Silenced 0123456789abcdef for 1h."
    )
    assert len(active_silences(storage, NOW)) == 1 and threads.replies == []


def test_ending_a_silence_is_audited_and_said_in_the_thread(storage, silences, threads):
    record = an_alert(storage, "PROD", "203.0.113.9", title="AT&T")
    assert silences.end("address", "203.0.113.9", "U01OPERATOR") == "203.0.113.9 was not silenced."
    assert threads.replies == []
    silences.silence_target("address", "203.0.113.9", 3600, "vendor", "U01OPERATOR")
    silences.silence_target("address", "203.0.113.9", 7200, "again", "U01OPERATOR")
    threads.replies.clear()
    assert silences.end("address", "203.0.113.9", "U02APPROVER") == "Ended 2 silence(s) of 203.0.113.9."
    assert active_silences(storage, NOW) == []
    assert threads.replies == [(record.fingerprint, ":bell: Silence ended by <@U02APPROVER>: AT&amp;T")]
    assert [(e.action, e.outcome) for e in audit.recent(storage, 2)] == [
        ("unsilence", "2 silence(s) ended"),
        ("silence", f"until {int(NOW + 7200)}"),
    ]
    assert verify(storage).ok


def test_without_an_alert_lifecycle_nothing_is_said_in_threads(storage):
    record = an_alert(storage, "PROD", "203.0.113.9")
    assert (
        SilenceService(storage, lambda: NOW)
        .silence_alert(record.fingerprint, "U1", DAY, "r")
        .startswith("Silenced for 24h")
    )
