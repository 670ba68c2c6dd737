"""The diff stage: one run's findings against the stored alerts of that system and check.

Every finding of the run, and every open alert the run no longer reports, becomes one `Change`:
- NEW: reported and never posted;
- OPEN: reported, posted, nothing to say;
- REMINDER: reported, posted, and nothing said for `repeat_interval`;
- REOPENED: reported again after it was resolved;
- CLEAN: not reported, one more clean run counted;
- RESOLVED: not reported for `resolve_after` consecutive runs.
Later stages turn a reported alert's event into SILENCED or UNROUTED. A change's record is the state to
store; the enqueue stage marks when Slack was told (`last_notified_at`). An OPEN alert whose finding is the one
stored, and which no run missed, has nothing to store: its record is the stored one, whose `last_seen` the time
of its check's last run tells (storage/alerts.py), so an unchanged run makes no new record for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.checks.finding import Finding
from bot.config import AlertSettings
from storage.alerts import AlertMessage, AlertRecord

NEW, OPEN, REMINDER, REOPENED = "new", "open", "reminder", "reopened"
CLEAN, RESOLVED = "clean", "resolved"
SILENCED, UNROUTED = "silenced", "unrouted"
REPORTED = (NEW, OPEN, REMINDER, REOPENED)  # events of findings in the run: silences and routes may hold them back


@dataclass(frozen=True)
class Change:
    event: str
    record: AlertRecord  # the alert's state after this run
    previous: AlertRecord | None = None  # its state before
    messages: tuple[AlertMessage, ...] = ()  # the Slack messages it was posted in (their threads get the replies)

    @property
    def fingerprint(self) -> str:
        return self.record.fingerprint


def diff(
    existing: Mapping[str, AlertRecord],
    findings: Sequence[Finding],
    now: float,
    settings: AlertSettings,
    messages_of: Callable[[str], Sequence[AlertMessage]],
) -> list[Change]:
    """The run's changes: its findings first (in order, the last of equal fingerprints winning), then the open
    alerts it no longer reports. `messages_of` tells where an alert was posted."""
    current = {finding.fingerprint: finding for finding in findings}
    changes = [
        reported(existing.get(fingerprint), finding, now, settings, tuple(messages_of(fingerprint)))
        for fingerprint, finding in current.items()
    ]
    changes += [
        not_reported(record, now, settings, messages_of)
        for fingerprint, record in existing.items()
        if fingerprint not in current and record.state == "open"
    ]
    return changes


def reported(
    previous: AlertRecord | None,
    finding: Finding,
    now: float,
    settings: AlertSettings,
    messages: tuple[AlertMessage, ...],
) -> Change:
    if (
        previous is not None
        and messages
        and now - (previous.last_notified_at or previous.first_seen) < settings.repeat_interval
        and _open_as(previous, finding)
        and _finding_data(previous, finding) is previous.finding
    ):
        return Change(OPEN, previous, previous, messages)  # nothing to store (see the module's docstring)
    record = seen(previous, finding, now)
    if not messages:
        event = NEW
    elif previous is not None and previous.state == "resolved":
        event = REOPENED
    elif now - (record.last_notified_at or record.first_seen) >= settings.repeat_interval:
        event = REMINDER
    else:
        event = OPEN
    return Change(event, record, previous, messages)


def not_reported(
    previous: AlertRecord, now: float, settings: AlertSettings, messages_of: Callable[[str], Sequence[AlertMessage]]
) -> Change:
    record = previous.with_changes(clean_runs=previous.clean_runs + 1)
    if record.clean_runs < settings.resolve_after:
        return Change(CLEAN, record, previous)
    resolved = record.with_changes(state="resolved", resolved_at=now)
    return Change(RESOLVED, resolved, previous, tuple(messages_of(record.fingerprint)))


def seen(previous: AlertRecord | None, finding: Finding, now: float) -> AlertRecord:
    """The alert as of a run that reports it: open, its clean runs reset, the finding's latest data."""
    if previous is None:
        data = finding.to_stored()
        return AlertRecord(
            fingerprint=finding.fingerprint,
            system=finding.system,
            check=finding.check,
            subject=finding.subject,
            severity=finding.severity,
            title=finding.title,
            state="open",
            first_seen=now,
            last_seen=now,
            finding=data,
        )
    finding_data = _finding_data(previous, finding)
    if finding_data is previous.finding and _open_as(previous, finding):
        return previous.with_changes(last_seen=now)
    return previous.with_changes(
        severity=finding.severity,
        title=finding.title,
        state="open",
        resolved_at=None,
        clean_runs=0,
        last_seen=now,
        finding=finding_data,
    )


def _finding_data(previous: AlertRecord, finding: Finding) -> dict[str, Any]:
    """The finding as the alert stores it, keeping enrichment already added; the stored finding itself when
    they are equal, so saving can tell nothing changed."""
    if "owner" not in previous.finding.get("facts", {}):
        return previous.finding if finding.is_stored_as(previous.finding) else finding.to_stored()
    data = finding.to_json()
    facts = {**data.get("facts", {})}
    facts.setdefault("owner", previous.finding["facts"]["owner"])
    data = {**data, "facts": facts}
    return previous.finding if data == previous.finding else data


def _open_as(previous: AlertRecord, finding: Finding) -> bool:
    """Whether the alert is open, seen by every run, and says what the finding says (only `last_seen` moves)."""
    return (
        previous.state == "open"
        and previous.clean_runs == 0
        and previous.resolved_at is None
        and previous.severity == finding.severity
        and previous.title == finding.title
    )
