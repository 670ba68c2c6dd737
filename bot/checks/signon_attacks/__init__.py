"""signon-attacks: failed sign-ons from the audit journal (PW entries), by remote address and by profile.

The check's declaration; its settings are in `settings.py`, the judgement in `rules.py`, what to do about a finding
in `runbook.md`. What it says about its view of the journal is shared with the other audit journal checks
(bot.checks.audit_journal.judging).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.checks.audit_journal.auditing import AUDIT_VALUES
from bot.checks.audit_journal.judging import journal_view
from bot.checks.audit_journal.memo import EntryMemo
from bot.checks.audit_journal.reading import journal_source
from bot.checks.definition import CheckDefinition, CheckTarget, Readings, Source, SourceContext
from bot.checks.finding import Finding
from bot.checks.signon_attacks.rules import PW_VIOLATIONS, Attempt, attempt_of, evaluate
from bot.checks.signon_attacks.settings import CHECK_ID, SignonSettings
from bot.checks.sources import AUDITED_REFUSAL_RETRY, NETSTAT_SERVICE
from bot.ibmi import sql
from bot.ibmi.audit_journal import JournalEntry
from bot.ibmi.errors import NotAuthorizedError
from bot.ibmi.sql import Queryable
from bot.net import TrustList

__all__ = ["CHECK", "CHECK_ID", "PW_VIOLATIONS", "SIGNON_JOURNAL", "SignonSettings", "evaluate"]

SIGNON_JOURNAL = journal_source("PW", CHECK_ID)
_ATTEMPTS = EntryMemo[Attempt]()


class ConnectionLookup:
    """Whether addresses are connected now, asked of NETSTAT by key when the check knows which addresses it reports
    (the one read made while judging: a large system's whole NETSTAT every minute would cost more than the check).
    None when it cannot tell: no listening socket visible, or the keyed read refused."""

    def __init__(self, connection: Queryable, listening: bool):
        self._connection = connection
        self._listening = listening

    def connected(self, addresses: Iterable[str]) -> set[str] | None:
        wanted = sorted(set(addresses))
        if not wanted:
            return set()
        if not self._listening:
            return None
        try:
            return sql.read_established_from(self._connection, wanted)
        except NotAuthorizedError:
            return None


def _connections(context: SourceContext) -> ConnectionLookup:
    """Whether NETSTAT shows listening sockets (a refusal is remembered with NETSTAT's, and asked again hourly)."""
    return ConnectionLookup(context.connection, sql.read_any_listening(context.connection))


SIGNON_CONNECTIONS = Source("signon-connections", _connections, AUDITED_REFUSAL_RETRY, service=NETSTAT_SERVICE)


def evaluate_readings(readings: Readings, target: CheckTarget, settings: SignonSettings) -> list[Finding]:
    findings, reading = journal_view(readings, target.name, CHECK_ID, "PW", SIGNON_JOURNAL)
    if reading is None:
        return findings
    lookup: ConnectionLookup | None = readings.optional(SIGNON_CONNECTIONS.name)
    connected = lookup.connected if lookup is not None else None
    system = target.name

    def attempts_of(entries: Sequence[JournalEntry]) -> list[Attempt]:
        return _ATTEMPTS.each(system, None, entries, attempt_of)  # an entry is read the same whatever the settings

    return findings + evaluate(system, reading.entries, settings, connected, TrustList(target.trusted), attempts_of)


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="Failed sign-ons from the audit journal",
    default_interval=60.0,
    sources=(SIGNON_JOURNAL, AUDIT_VALUES, SIGNON_CONNECTIONS),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=SignonSettings,
    about_address=True,
    order=50,
)
