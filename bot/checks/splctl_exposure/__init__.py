"""splctl-exposure: *SPLCTL holders, and output queues whose settings open every spooled file on them.

The check's declaration; its settings are in `settings.py`, the judgement in `rules.py`, `holders.py`
and `queues.py`, what to do about a finding in `runbook.md`.
"""

from __future__ import annotations

from pathlib import Path

from bot.checks.definition import CheckDefinition, CheckTarget, Readings
from bot.checks.finding import Finding
from bot.checks.memo import SameInput
from bot.checks.sources import JOBCTL_HOLDERS, OUTPUT_QUEUES, SPLCTL_HOLDERS
from bot.checks.splctl_exposure.rules import CHECK_ID, SPLCTL_WHY, SplctlSettings, cannot_see, evaluate

__all__ = ["CHECK", "CHECK_ID", "SPLCTL_WHY", "SplctlSettings", "borrowed_settings", "cannot_see", "evaluate"]


def borrowed_settings(target: CheckTarget) -> SplctlSettings:
    """splctl-exposure's settings as configured for the system, for a check that borrows them (its defaults when
    the target carries none)."""
    settings = target.settings_of.get(CHECK_ID)
    return settings if isinstance(settings, SplctlSettings) else SplctlSettings()


_LAST_RUN = SameInput()


def evaluate_readings(readings: Readings, target: CheckTarget, settings: SplctlSettings) -> list[Finding]:
    """Whatever could not be read is None, which the check says in its "cannot see" finding."""
    inputs = (readings.as_read(SPLCTL_HOLDERS.name, OUTPUT_QUEUES.name, JOBCTL_HOLDERS.name), settings)
    return _LAST_RUN.findings(target.name, inputs, lambda: _judge(readings, target, settings))


def _judge(readings: Readings, target: CheckTarget, settings: SplctlSettings) -> list[Finding]:
    return evaluate(
        target.name,
        readings.optional(SPLCTL_HOLDERS.name),
        readings.optional(OUTPUT_QUEUES.name),
        readings.optional(JOBCTL_HOLDERS.name),
        settings,
    )


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="*SPLCTL holders and exposed output queues",
    default_interval=3600.0,
    sources=(SPLCTL_HOLDERS, OUTPUT_QUEUES, JOBCTL_HOLDERS),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=SplctlSettings,
    order=40,
)
