"""signon-attacks: failed sign-ons from the audit journal (PW entries), by remote address and by profile.

The check's declaration; its settings are in `settings.py`, the judgement in `rules.py`, what to do about a finding
in `runbook.md`. What it says about its view of the journal is shared with the other audit journal checks
(bot.checks.audit_journal.judging).
"""

from __future__ import annotations

from pathlib import Path

from bot.checks.audit_journal.auditing import AUDIT_VALUES
from bot.checks.audit_journal.judging import journal_view
from bot.checks.audit_journal.reading import journal_source
from bot.checks.definition import CheckDefinition, CheckTarget, Readings
from bot.checks.finding import Finding
from bot.checks.signon_attacks.rules import PW_VIOLATIONS, connected_addresses, evaluate
from bot.checks.signon_attacks.settings import CHECK_ID, SignonSettings
from bot.checks.sources import NETSTAT
from bot.net import TrustList

__all__ = ["CHECK", "CHECK_ID", "PW_VIOLATIONS", "SIGNON_JOURNAL", "SignonSettings", "evaluate"]

SIGNON_JOURNAL = journal_source("PW", CHECK_ID)


def evaluate_readings(readings: Readings, target: CheckTarget, settings: SignonSettings) -> list[Finding]:
    findings, reading = journal_view(readings, target.name, CHECK_ID, "PW", SIGNON_JOURNAL)
    if reading is None:
        return findings
    connected = connected_addresses(readings.optional(NETSTAT.name))
    return findings + evaluate(target.name, reading.entries, settings, connected, TrustList(target.trusted))


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="Failed sign-ons from the audit journal",
    default_interval=60.0,
    sources=(SIGNON_JOURNAL, AUDIT_VALUES, NETSTAT),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=SignonSettings,
    about_address=True,
    order=50,
)
