"""changes-behind-the-bot: watched commands, and commands changing sensitive output queues, run by anyone but the
bot's own approved executions (CD entries).

The check's declaration; its settings are in `settings.py`, the judgement in `rules.py` and `commands.py`, what to
do about a finding in `runbook.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bot.checks.audit_journal.auditing import AUDIT_VALUES
from bot.checks.audit_journal.judging import journal_view
from bot.checks.audit_journal.memo import EntryMemo
from bot.checks.audit_journal.reading import journal_source
from bot.checks.changes_behind_the_bot.commands import normalised, scan
from bot.checks.changes_behind_the_bot.rules import JudgedEntry, evaluate_entries, judged_with_finding, may_be_watched
from bot.checks.changes_behind_the_bot.settings import CHECK_ID, ChangesSettings
from bot.checks.definition import CheckDefinition, CheckTarget, Readings, SourceContext
from bot.checks.finding import Finding
from bot.checks.memo import SameInput
from bot.checks.splctl_exposure import CHECK_ID as SPLCTL_ID
from bot.checks.splctl_exposure import SplctlSettings, borrowed_settings
from bot.ibmi.audit_journal import JournalEntry

__all__ = ["CHECK", "CHECK_ID", "ChangesSettings", "evaluate_entries", "normalised", "scan", "sensitive_settings"]

ENTRY_TYPE = "CD"


def _may_matter(context: SourceContext) -> Callable[[JournalEntry], bool]:
    settings: ChangesSettings = context.settings[CHECK_ID]
    return lambda entry: may_be_watched(entry, settings)


CD_ENTRIES = journal_source(ENTRY_TYPE, CHECK_ID, keeps=_may_matter)
_LAST_RUN = SameInput()
_JUDGED = EntryMemo[JudgedEntry | None]()


def sensitive_settings(target: CheckTarget, settings: ChangesSettings) -> SplctlSettings:
    """The sensitive queue patterns: this check's own, else splctl-exposure's as configured (or its default)."""
    if settings.sensitive_queues is not None:
        return SplctlSettings(sensitive_queues=settings.sensitive_queues)
    return borrowed_settings(target)


def evaluate_readings(readings: Readings, target: CheckTarget, settings: ChangesSettings) -> list[Finding]:
    findings, reading = journal_view(readings, target.name, CHECK_ID, ENTRY_TYPE, CD_ENTRIES)
    if reading is None:
        return findings
    system, sensitive = target.name, sensitive_settings(target, settings)
    matcher = sensitive.sensitive_matcher()

    def judge_each(entries: Sequence[JournalEntry]) -> list[JudgedEntry | None]:
        return _JUDGED.each(
            system, (settings, sensitive), entries, lambda entry: judged_with_finding(system, entry, settings, matcher)
        )

    # The entries' times matter only to matching what the bot ran, and move with the clocks at every read.
    clocks = (reading.system_time, reading.read_at) if target.bot_commands else None
    inputs = (reading.entries, settings, sensitive, target.bot_commands, clocks)
    return findings + _LAST_RUN.findings(
        system,
        inputs,
        lambda: evaluate_entries(
            system, reading.entries, reading.epoch, target.bot_commands, settings, matcher, judge_each
        ),
    )


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="Changes made behind the bot's back",
    default_interval=60.0,
    sources=(CD_ENTRIES, AUDIT_VALUES),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=ChangesSettings,
    order=70,
    borrows=(SPLCTL_ID,),
    reads_bot_commands=True,
)
