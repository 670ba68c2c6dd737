"""authority-failures: authority failures from the audit journal (AF entries) on sensitive objects.

The check's declaration; its settings are in `settings.py`, the judgement in `rules.py`, what to do about a finding
in `runbook.md`. What it says about its view of the journal is shared with the other audit journal checks
(bot.checks.audit_journal.judging).
"""

from __future__ import annotations

from pathlib import Path

from bot.checks.audit_journal.auditing import AUDIT_VALUES
from bot.checks.audit_journal.judging import journal_view
from bot.checks.audit_journal.reading import journal_source
from bot.checks.authority_failures.rules import AF_VIOLATIONS, evaluate, on_sensitive_objects
from bot.checks.authority_failures.settings import CHECK_ID, AuthorityFailureSettings
from bot.checks.definition import CheckDefinition, CheckTarget, Readings
from bot.checks.finding import Finding
from bot.checks.memo import SameInput

__all__ = ["AF_VIOLATIONS", "AUTHORITY_JOURNAL", "CHECK", "CHECK_ID", "AuthorityFailureSettings", "evaluate"]

AUTHORITY_JOURNAL = journal_source(
    "AF", CHECK_ID, keeps=lambda context: on_sensitive_objects(context.settings[CHECK_ID])
)
_LAST_RUN = SameInput()


def evaluate_readings(readings: Readings, target: CheckTarget, settings: AuthorityFailureSettings) -> list[Finding]:
    findings, reading = journal_view(readings, target.name, CHECK_ID, "AF", AUTHORITY_JOURNAL)
    if reading is None:
        return findings
    system = target.name
    return findings + _LAST_RUN.findings(
        system, (reading.entries, settings), lambda: evaluate(system, reading.entries, settings)
    )


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="Authority failures on sensitive objects",
    default_interval=60.0,
    sources=(AUTHORITY_JOURNAL, AUDIT_VALUES),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=AuthorityFailureSettings,
    order=55,
)
