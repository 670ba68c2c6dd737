"""The alert lifecycle, with Alertmanager's semantics: findings in, Slack messages out (via the outbox).

For one run of one check on one system:
- a new finding is posted; all new findings of the run share one message per channel;
- a finding still present stays silent, except a reminder in its thread after `repeat_interval`;
- a finding absent for `resolve_after` consecutive clean runs is resolved: a reply in its thread,
  and the parent message re-rendered to show it;
- a resolved finding that comes back is reopened in the same thread;
- a silenced finding (by fingerprint or address) is tracked but not posted.
Alert state and the outbox items that announce it are written in one transaction, so a crash
never leaves a state change without its message, nor a message without its state change.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot import alert_blocks
from bot.checks.finding import Finding
from bot.config import AlertSettings, Route
from storage import outbox
from storage.alerts import (
    AlertMessage,
    AlertRecord,
    Silence,
    active_silences,
    add_message,
    alerts_in_message,
    alerts_of,
    messages_of,
    save_alert,
)
from storage.database import Storage

SEVERITY_RANK = alert_blocks.SEVERITY_RANK
POST, UPDATE = "chat.postMessage", "chat.update"


@dataclass
class LifecycleResult:
    new: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    silenced: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.reopened or self.reminded or self.resolved)


def silence_matches(silence: Silence, finding: dict[str, Any]) -> bool:
    if silence.matcher_kind == "fingerprint":
        return silence.matcher == finding.get("fingerprint")
    facts = finding.get("facts", {})
    return silence.matcher in (finding.get("subject"), facts.get("remote_address"))


class AlertManager:
    def __init__(
        self,
        storage: Storage,
        settings: AlertSettings,
        routes: Sequence[Route],
        clock: Callable[[], float] = time.time,
        on_enqueued: Callable[[], None] = lambda: None,
        runbook_url: Callable[[str], str | None] = lambda check: None,
    ):
        self.storage = storage
        self.settings = settings
        self.routes = tuple(routes)
        self.clock = clock
        self.on_enqueued = on_enqueued
        self.runbook_url = runbook_url

    def process(self, system: str, check: str, findings: Sequence[Finding]) -> LifecycleResult:
        result = LifecycleResult()
        now = self.clock()
        with self.storage.transaction():
            silences = active_silences(self.storage, now)
            existing = alerts_of(self.storage, system, check)
            current = {f.fingerprint: f for f in findings}
            to_post: list[AlertRecord] = []
            parents_to_render: set[str] = set()
            for fingerprint, finding in current.items():
                record = self._seen(existing.get(fingerprint), finding, now)
                previous = existing.get(fingerprint)
                if any(silence_matches(s, record.finding) for s in silences):
                    if previous is not None and previous.state == "resolved":
                        # stays resolved while silenced, so it is announced as back once the silence ends
                        record = previous.with_changes(last_seen=now)
                    save_alert(self.storage, record)
                    result.silenced.append(fingerprint)
                    continue
                if not self._routed(record):
                    save_alert(self.storage, record)  # tracked, but no channel takes its severity
                    continue
                messages = messages_of(self.storage, fingerprint)
                if not messages:
                    to_post.append(record)
                    result.new.append(fingerprint)
                elif previous is not None and previous.state == "resolved":
                    record = record.with_changes(last_notified_at=now)
                    self._reply_all(messages, alert_blocks.reopened_reply(record), now)
                    parents_to_render.update(m.message_key for m in messages)
                    result.reopened.append(fingerprint)
                elif now - (record.last_notified_at or record.first_seen) >= self.settings.repeat_interval:
                    record = record.with_changes(last_notified_at=now)
                    self._reply_all(messages, alert_blocks.reminder_reply(record, now - record.first_seen), now)
                    result.reminded.append(fingerprint)
                save_alert(self.storage, record)
            for fingerprint, record in existing.items():
                if fingerprint in current or record.state != "open":
                    continue
                record = record.with_changes(clean_runs=record.clean_runs + 1)
                if record.clean_runs >= self.settings.resolve_after:
                    record = record.with_changes(state="resolved", resolved_at=now)
                    messages = messages_of(self.storage, fingerprint)
                    self._reply_all(messages, alert_blocks.resolved_reply(record), now)
                    parents_to_render.update(m.message_key for m in messages)
                    result.resolved.append(fingerprint)
                save_alert(self.storage, record)
            self._post_group(system, check, to_post, now)
            for key in sorted(parents_to_render):
                self._rerender(key, now)
        if result.changed:
            self.on_enqueued()
        return result

    def _seen(self, previous: AlertRecord | None, finding: Finding, now: float) -> AlertRecord:
        data = finding.to_json()
        if previous is None:
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
        facts = {**data.get("facts", {})}
        if "owner" in previous.finding.get("facts", {}):  # keep enrichment already added
            facts.setdefault("owner", previous.finding["facts"]["owner"])
        return previous.with_changes(
            severity=finding.severity,
            title=finding.title,
            state="open",
            resolved_at=None,
            clean_runs=0,
            last_seen=now,
            finding={**data, "facts": facts},
        )

    def _routed(self, record: AlertRecord) -> bool:
        return any(SEVERITY_RANK[record.severity] >= SEVERITY_RANK[r.min_severity] for r in self.routes)

    def _reply_all(self, messages: Sequence[AlertMessage], payload: dict[str, Any], now: float) -> None:
        for message in messages:
            outbox.enqueue(self.storage, message.channel, POST, payload, thread_key=message.message_key, now=now)

    def _post_group(self, system: str, check: str, alerts: list[AlertRecord], now: float) -> None:
        if not alerts:
            return
        for route in self.routes:
            routed = [a for a in alerts if SEVERITY_RANK[a.severity] >= SEVERITY_RANK[route.min_severity]]
            if not routed:
                continue
            key = f"alerts:{uuid.uuid4().hex}"
            for record in routed:
                add_message(self.storage, AlertMessage(record.fingerprint, route.channel, key))
                save_alert(self.storage, record.with_changes(last_notified_at=now))
            payload = alert_blocks.group_message(system, check, routed, self.runbook_url(check))
            outbox.enqueue(self.storage, route.channel, POST, payload, message_key=key, now=now)
            if len(routed) > alert_blocks.MAX_SHOWN:
                outbox.enqueue(
                    self.storage, route.channel, POST, alert_blocks.details_reply(routed), thread_key=key, now=now
                )

    def _rerender(self, message_key: str, now: float) -> None:
        alerts = alerts_in_message(self.storage, message_key)
        if not alerts:
            return
        channel = next(
            m.channel for m in messages_of(self.storage, alerts[0].fingerprint) if m.message_key == message_key
        )
        payload = alert_blocks.group_message(
            alerts[0].system, alerts[0].check, alerts, self.runbook_url(alerts[0].check)
        )
        outbox.enqueue(self.storage, channel, UPDATE, payload, target_key=message_key, now=now)

    def refresh(self, fingerprint: str) -> None:
        """Re-render every message an alert lives in (after enrichment or a silence)."""
        now = self.clock()
        with self.storage.transaction():
            for message in messages_of(self.storage, fingerprint):
                self._rerender(message.message_key, now)
        self.on_enqueued()

    def reply(self, fingerprint: str, payload: dict[str, Any]) -> None:
        """A reply in the thread of every message an alert lives in."""
        now = self.clock()
        with self.storage.transaction():
            self._reply_all(messages_of(self.storage, fingerprint), payload, now)
        self.on_enqueued()
