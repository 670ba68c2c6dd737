"""Silences: the silence stage of the alert pipeline, and the one place silences are added and ended.

A silence matches an alert by its fingerprint, or by an address (the alert's subject or its remote address).
Silences expire by themselves. Adding or ending one, from the Silence button or from `/ibmi silence` and
`/ibmi unsilence`, is audited, said in the threads of the alerts it matches and shown on their messages (whose
Silence button goes while the silence lasts), so the channel sees why an alert went quiet; the answer for the
person who asked is returned as text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from bot.alerting.diff import REPORTED, SILENCED, Change
from bot.alerting.render import silenced_reply, unsilenced_reply
from bot.slack.blocks import ibmi_mrkdwn
from storage import audit
from storage.alerts import AlertRecord, Silence, active_silences, add_silence, end_silence, open_alerts
from storage.alerts import alert as stored_alert
from storage.database import Storage

NO_REASON = "no reason given"


def matches(kind: str, matcher: str, finding: dict[str, Any]) -> bool:
    """Whether a silence of `kind` ("fingerprint" or "address") and `matcher` covers a finding (as stored)."""
    if kind == "fingerprint":
        return matcher == finding.get("fingerprint")
    facts = finding.get("facts", {})
    return matcher in (finding.get("subject"), facts.get("remote_address"))


def silence_matches(silence: Silence, finding: dict[str, Any]) -> bool:
    return matches(silence.matcher_kind, silence.matcher, finding)


def silence(changes: Sequence[Change], silences: Sequence[Silence], now: float) -> list[Change]:
    """The silence stage: reported alerts an active silence matches become SILENCED, tracked but not announced.
    One that was resolved stays resolved (only `last_seen` moves), so it is announced as back once the
    silence ends."""
    if not silences:
        return list(changes)
    return [
        _silenced(change, now)
        if change.event in REPORTED and any(silence_matches(s, change.record.finding) for s in silences)
        else change
        for change in changes
    ]


def _silenced(change: Change, now: float) -> Change:
    previous = change.previous
    if previous is not None and previous.state == "resolved":
        return replace(change, event=SILENCED, record=previous.with_changes(last_seen=now))
    return replace(change, event=SILENCED)


class ThreadReplies(Protocol):
    """Replies in the threads of the messages an alert lives in, and their edits (`AlertManager`)."""

    def reply(self, fingerprint: str, payload: dict[str, Any]) -> None: ...

    def refresh(self, fingerprints: Iterable[str]) -> None: ...


class SilenceService:
    """Adds and ends silences: stored and audited in one transaction, then said in the alerts' threads."""

    def __init__(
        self, storage: Storage, clock: Callable[[], float] = time.time, alerts: ThreadReplies | None = None
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.alerts = alerts  # None: nothing is said in Slack threads (no alert lifecycle, e.g. the CLI)

    def silence_alert(self, fingerprint: str, author: str, seconds: float, reason: str) -> str:
        """The Silence button: one alert, which must still be known (the button may be old)."""
        record = stored_alert(self.storage, fingerprint)
        if record is None:
            return "That alert is no longer known to the bot."
        self.add("fingerprint", fingerprint, seconds, reason, author)
        return f"Silenced for {seconds / 3600:g}h: {ibmi_mrkdwn(record.title)}"

    def silence_target(self, kind: str, target: str, seconds: float, reason: str, author: str) -> str:
        """`/ibmi silence`: an address, or a fingerprint whether or not its alert was seen yet."""
        self.add(kind, target, seconds, reason, author)
        return f"Silenced {target} for {seconds / 3600:g}h."

    def add(self, kind: str, target: str, seconds: float, reason: str, author: str) -> Silence:
        now = self.clock()
        with self.storage.transaction():
            alerts = self.alerts_matching(kind, target)
            created = add_silence(self.storage, kind, target, reason or NO_REASON, author, now, now + seconds)
            audit.append(
                self.storage,
                actor=author,
                action="silence",
                system=_system_of(kind, alerts),
                subject=target,
                outcome=f"until {int(created.expires_at)}",
                details={"kind": kind, "seconds": seconds, "reason": reason},
                at=now,
            )
        for record in alerts:
            self._reply(record.fingerprint, silenced_reply(record, author, created.expires_at))
        self._refresh(alerts)
        return created

    def end(self, kind: str, target: str, author: str) -> str:
        """`/ibmi unsilence`: end every active silence of the target."""
        now = self.clock()
        with self.storage.transaction():
            ended = [
                s.id
                for s in active_silences(self.storage, now)
                if s.matcher_kind == kind and s.matcher == target and end_silence(self.storage, s.id, now)
            ]
            alerts = self.alerts_matching(kind, target) if ended else []
            audit.append(
                self.storage,
                actor=author,
                action="unsilence",
                system=_system_of(kind, alerts),
                subject=target,
                outcome=f"{len(ended)} silence(s) ended",
                at=now,
            )
        for record in alerts:
            self._reply(record.fingerprint, unsilenced_reply(record, author))
        self._refresh(alerts)
        return f"Ended {len(ended)} silence(s) of {target}." if ended else f"{target} was not silenced."

    def alerts_matching(self, kind: str, target: str) -> list[AlertRecord]:
        """The alerts whose threads hear of a silence: the one alert of a fingerprint, if known; the open
        alerts about an address."""
        if kind == "fingerprint":
            record = stored_alert(self.storage, target)
            return [record] if record is not None else []
        return [record for record in open_alerts(self.storage) if matches(kind, target, record.finding)]

    def _reply(self, fingerprint: str, payload: dict[str, Any]) -> None:
        if self.alerts is not None:
            self.alerts.reply(fingerprint, payload)

    def _refresh(self, alerts: Sequence[AlertRecord]) -> None:
        """Their messages show the silence (or its end) and the buttons that apply now."""
        if self.alerts is not None and alerts:
            self.alerts.refresh(record.fingerprint for record in alerts)


def _system_of(kind: str, alerts: Sequence[AlertRecord]) -> str | None:
    """The system of a fingerprint's alert; None for an address, which is silenced on every system."""
    return alerts[0].system if kind == "fingerprint" and alerts else None
