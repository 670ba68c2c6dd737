"""Quiet runs: a run of a check that stored nothing and announced nothing, known to repeat while its input does.

Most runs of a quiet system hand the lifecycle the very findings of the run before (bot/checks/memo.py), and
every alert they report is open, posted and has nothing to say. Such a run writes no row: only its check's run
time moves (`mark_seen`). The diff of the next run is the same for the same input: the same findings, the same
alerts and messages (the copy kept, with the token it had after the run), the same active silences, and a clock
before the first reminder falls due. Then the lifecycle can skip the stages and give the same result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.alerting.diff import Change
from bot.checks.finding import Finding
from storage.alerts import CheckAlerts, Silence


@dataclass(frozen=True)
class QuietRun:
    findings: tuple[Finding, ...]  # compared by identity: the judged objects handed on unchanged
    known: CheckAlerts  # the copy kept of the check's alerts, as it was after the run ...
    token: str | None  # ... and its token then
    silences: tuple[Silence, ...]
    reminder_due: float  # the first time an alert of the run is due a reminder (inf: none can be)
    silenced: tuple[str, ...]  # the fingerprints the run held back (LifecycleResult.silenced)

    @classmethod
    def after(
        cls,
        findings: Sequence[Finding],
        known: CheckAlerts,
        token: str | None,
        silences: Sequence[Silence],
        changes: Sequence[Change],
        repeat_interval: float,
        silenced: Sequence[str],
    ) -> QuietRun:
        """The run just made, which wrote nothing but its run time (the caller knows), for later runs to match;
        `token` is the kept copy's token as the run left it."""
        notified = [
            change.previous.last_notified_at or change.previous.first_seen
            for change in changes
            if change.messages and change.previous is not None
        ]
        due = min(notified) + repeat_interval if notified else math.inf
        return cls(tuple(findings), known, token, tuple(silences), due, tuple(silenced))

    def repeats(self, findings: Sequence[Finding], known: CheckAlerts, silences: Sequence[Silence], now: float) -> bool:
        """Whether a run with this input would make the same changes as the quiet run did."""
        return (
            known is self.known
            and known.token == self.token
            and now < self.reminder_due
            and len(findings) == len(self.findings)
            and all(new is old for new, old in zip(findings, self.findings, strict=True))
            and tuple(silences) == self.silences
        )
