"""The alert lifecycle, with Alertmanager's semantics: findings in, Slack messages out (via the outbox).

For one run of one check on one system:
- a new finding is posted; all new findings of the run share one message per channel;
- a finding still present stays silent, except a reminder in its thread after `repeat_interval`;
- a finding absent for `resolve_after` consecutive clean runs is resolved: a reply in its thread,
  and the parent message re-rendered to show it;
- a resolved finding that comes back is reopened in the same thread;
- a silenced finding (by fingerprint or address) is tracked but not posted.
`AlertManager.process` is the composition of the stages (see the package docstring); alert state and the
outbox items that announce it are written in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.alerting.diff import NEW, REMINDER, REOPENED, RESOLVED, SILENCED, Change, diff
from bot.alerting.enqueue import enqueue, reply_in_threads, rerender
from bot.alerting.notes import notes_for
from bot.alerting.quiet import QuietRun, settled
from bot.alerting.render import group_message, shown
from bot.alerting.routing import group, route
from bot.alerting.silences import silence
from bot.checks.finding import Finding
from bot.config import AlertSettings, Route
from storage.alerts import AlertRecord, active_silences, check_alerts, forget_kept, mark_seen, messages_of
from storage.database import Storage


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

    @classmethod
    def of(cls, changes: Sequence[Change]) -> LifecycleResult:
        def having(event: str) -> list[str]:
            return [change.fingerprint for change in changes if change.event == event]

        return cls(having(NEW), having(REOPENED), having(REMINDER), having(RESOLVED), having(SILENCED))


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
        self._quiet: dict[tuple[str, str], QuietRun] = {}  # per (system, check): when its next run is known

    def process(self, system: str, check: str, findings: Sequence[Finding]) -> LifecycleResult:
        """One run of `check` on `system`: diff → silence → route → group → render → enqueue (skipped for a
        run known to change nothing: bot/alerting/quiet.py)."""
        now = self.clock()
        quiet = self._quiet.pop((system, check), None)
        try:
            with self.storage.transaction():
                silences = active_silences(self.storage, now)
                known = check_alerts(self.storage, system, check)
                if quiet is not None and quiet.repeats(findings, known, silences, now):
                    mark_seen(self.storage, system, check, now)
                    self._quiet[(system, check)] = replace(quiet, token=known.token)
                    return LifecycleResult(silenced=list(quiet.silenced))
                posted = known.messages
                changes = diff(known.records, findings, now, self.settings, lambda key: posted.get(key, ()))
                changes = silence(changes, silences, now)
                changes = route(changes, self.routes)
                written = self.storage.lock.rows_changed()
                enqueue(self.storage, changes, group(system, check, changes, self.routes), now, self._render)
                wrote = self.storage.lock.rows_changed() != written
                mark_seen(self.storage, system, check, now)
                token = known.token  # read under the lock: another thread may write once it is released
        except BaseException:
            forget_kept(self.storage)  # what was kept in memory may be ahead of what was rolled back
            self._quiet.pop((system, check), None)
            raise
        result = LifecycleResult.of(changes)
        if settled(changes, wrote, result.changed):
            self._quiet[(system, check)] = QuietRun.after(
                findings, known, token, silences, self.settings.repeat_interval, result.silenced
            )
        if result.changed:
            self.on_enqueued()
        return result

    def _render(self, system: str, check: str, alerts: Sequence[AlertRecord]) -> dict[str, Any]:
        notes = notes_for(self.storage, shown(alerts), self.clock())
        return group_message(system, check, alerts, self.runbook_url(check), notes)

    def refresh(self, fingerprints: Iterable[str]) -> None:
        """Re-render every message these alerts live in, each message once (after enrichment, a silence, or a
        change request filed from them)."""
        now = self.clock()
        with self.storage.transaction():
            keys = {message.message_key for each in fingerprints for message in messages_of(self.storage, each)}
            for key in sorted(keys):
                rerender(self.storage, key, now, self._render)
        self.on_enqueued()

    def reply(self, fingerprint: str, payload: dict[str, Any]) -> None:
        """A reply in the thread of every message an alert lives in."""
        now = self.clock()
        with self.storage.transaction():
            reply_in_threads(self.storage, messages_of(self.storage, fingerprint), payload, now)
        self.on_enqueued()
