"""Quiet runs: a run of a check that will store nothing and announce nothing, known before its stages run.

Most runs of a quiet system hand the lifecycle the very findings of the run before (bot/checks/memo.py). After a
run, the next one with the same input makes no change when:
- the run made none itself (it wrote nothing but its run time, and announced nothing), or
- every alert of the run was posted or still open and posted (NEW, OPEN, REMINDER, REOPENED): each is then open,
  seen, posted and stored as its finding, so the next run finds each still open with nothing to say. No alert
  went clean or resolved, was held back, or was left unannounced.
The same input is: the same finding objects, the same alerts and messages (the copy kept, with the token it had
after the run), the same active silences, and a clock before the first reminder falls due. Such a run skips the
stages, counts as seen (`mark_seen`) and gives the result of a run without changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.alerting.diff import NEW, OPEN, REMINDER, REOPENED, Change
from bot.checks.finding import Finding
from storage.alerts import CheckAlerts, Silence

ANNOUNCED = (NEW, OPEN, REMINDER, REOPENED)  # after routing: a NEW alert here was posted


def settled(changes: Sequence[Change], wrote: bool, changed: bool) -> bool:
    """Whether the next run with the same input will change nothing (see the module's docstring)."""
    return (not wrote and not changed) or all(change.event in ANNOUNCED for change in changes)


@dataclass(frozen=True)
class QuietRun:
    findings: tuple[Finding, ...]  # compared by identity: the judged objects handed on unchanged
    known: CheckAlerts  # the copy kept of the check's alerts, as it was after the run ...
    token: str | None  # ... and its token then
    silences: tuple[Silence, ...]
    reminder_due: float  # the first time an alert of the run is due a reminder (inf: none can be)
    silenced: tuple[str, ...]  # the fingerprints the next run holds back (LifecycleResult.silenced)

    @classmethod
    def after(
        cls,
        findings: Sequence[Finding],
        known: CheckAlerts,
        token: str | None,
        silences: Sequence[Silence],
        repeat_interval: float,
        silenced: Sequence[str],
    ) -> QuietRun:
        """The run just made, `settled`, for later runs to match; `known` and `token` as the run left them."""
        notified = [
            record.last_notified_at or record.first_seen
            for record in (known.records.get(finding.fingerprint) for finding in findings)
            if record is not None
        ]
        due = min(notified) + repeat_interval if notified else math.inf
        return cls(tuple(findings), known, token, tuple(silences), due, tuple(silenced))

    def repeats(self, findings: Sequence[Finding], known: CheckAlerts, silences: Sequence[Silence], now: float) -> bool:
        """Whether a run with this input makes no change (and holds back the same alerts)."""
        return (
            known is self.known
            and known.token == self.token
            and now < self.reminder_due
            and len(findings) == len(self.findings)
            and all(new is old for new, old in zip(findings, self.findings, strict=True))
            and tuple(silences) == self.silences
        )
