"""special-authority-grants: a user profile created or changed holding a watched special authority (CP entries).

The check's declaration; its settings are in `settings.py`, the judgement in `rules.py`, what to do about a
finding in `runbook.md`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.checks.audit_journal.auditing import AUDIT_VALUES
from bot.checks.audit_journal.judging import journal_view
from bot.checks.audit_journal.memo import EntryMemo
from bot.checks.audit_journal.reading import journal_source
from bot.checks.definition import CheckDefinition, CheckTarget, Readings
from bot.checks.finding import Finding
from bot.checks.memo import SameInput
from bot.checks.special_authority_grants.rules import ProfileChange, evaluate_entries, is_profile_change, profile_change
from bot.checks.special_authority_grants.settings import CHECK_ID, GrantsSettings
from bot.checks.splctl_exposure import CHECK_ID as SPLCTL_ID
from bot.checks.splctl_exposure import borrowed_settings
from bot.ibmi.audit_journal import JournalEntry

__all__ = ["CHECK", "CHECK_ID", "GrantsSettings", "evaluate_entries"]

ENTRY_TYPE = "CP"
CP_ENTRIES = journal_source(ENTRY_TYPE, CHECK_ID, keeps=lambda context: is_profile_change)
_LAST_RUN = SameInput()
_CHANGES = EntryMemo[ProfileChange | None]()


def splctl_allowed(target: CheckTarget) -> frozenset[str]:
    """splctl-exposure's allowed_holders as configured for the system (its default when not configured)."""
    return borrowed_settings(target).allowed


def evaluate_readings(readings: Readings, target: CheckTarget, settings: GrantsSettings) -> list[Finding]:
    findings, reading = journal_view(readings, target.name, CHECK_ID, ENTRY_TYPE, CP_ENTRIES)
    if reading is None:
        return findings
    system, allowed = target.name, splctl_allowed(target)

    def changes_of(entries: Sequence[JournalEntry]) -> list[ProfileChange | None]:
        return _CHANGES.each(system, None, entries, profile_change)  # an entry is read the same whatever the settings

    return findings + _LAST_RUN.findings(
        system,
        (reading.entries, settings, allowed),
        lambda: evaluate_entries(system, reading.entries, settings, allowed, changes_of),
    )


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="Special authorities granted",
    default_interval=60.0,
    sources=(CP_ENTRIES, AUDIT_VALUES),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=GrantsSettings,
    order=60,
    borrows=(SPLCTL_ID,),
)
