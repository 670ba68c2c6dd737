"""What every check judging audit journal entries says besides its own findings, and the options they all take.

- the journal could not be read: "cannot see", never "nothing happened";
- the system does not record the entry type, or the bot cannot tell (`auditing.not_recorded`);
- the reading's notices (a receiver gone, a timestamp the reading cannot move past), said once in the cycle that
  met them;
- `window` and `max_entries`, validated the same way for every such check.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.checks.audit_journal.auditing import AUDIT_VALUES, AuditValues, Recording, not_recorded
from bot.checks.audit_journal.reading import JournalReading
from bot.checks.definition import Readings, Source
from bot.checks.finding import Finding
from bot.ibmi.audit_journal import MAX_BATCH, JournalEntry


def whole_number(key: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """`value` when it is a whole number within the bounds; ValueError "key: …" naming what is accepted."""
    in_range = not isinstance(value, bool) and isinstance(value, int) and value >= minimum
    if in_range and (maximum is None or value <= maximum):
        return int(value)
    accepted = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    raise ValueError(f"{key}: must be a whole number {accepted}, not {value!r}")


def check_journal_options(window: Any, max_entries: Any) -> None:
    """The options every audit journal check has: the window judged and the entries read per cycle."""
    if isinstance(window, bool) or not isinstance(window, int | float) or not math.isfinite(window) or window <= 0:
        raise ValueError(f'window: must be a duration of more than 0 seconds, such as "1h", not {window!r}')
    whole_number("max_entries", max_entries, 1, MAX_BATCH)


def recording_of(values: AuditValues | None, entry_type: str, problem: str | None) -> Recording:
    """Whether the system records `entry_type`; "cannot tell" when its audit values could not be read."""
    if values is None:
        return Recording(None, f"Cannot tell whether {entry_type} entries are recorded: {problem or 'not read'}.")
    return values.recording(entry_type)


def journal_unreadable(system: str, check: str, entry_type: str, reason: str) -> Finding:
    """The bot's profile may not read the entries: nothing the check looks for can be ruled out."""
    return Finding(
        system=system,
        check=check,
        severity="warning",
        subject="journal-visibility",
        title=f"{check} cannot see: SYSTOOLS.AUDIT_JOURNAL_{entry_type} is not readable",
        details=(
            reason,
            "Reading the audit journal needs *USE to QSYS/QAUDJRN and its receivers and *OBJEXIST to QAUDJRN "
            "(IBM, AUDIT JOURNAL table function common information). "
            "Nothing this check looks for can be ruled out.",
        ),
        facts={"entry_type": entry_type},
    )


def reading_notices(system: str, check: str, reading: JournalReading) -> list[Finding]:
    """The reading's notices, one finding said in the cycle that met them."""
    if not reading.notices:
        return []
    return [
        Finding(
            system=system,
            check=check,
            severity="warning",
            subject="journal-position",
            title=f"{check}: {reading.entry_type} entries may have been missed",
            details=tuple(reading.notices),
            facts={"entry_type": reading.entry_type, "notices": list(reading.notices)},
        )
    ]


def about_the_journal(
    system: str,
    check: str,
    entry_type: str,
    reading: JournalReading | None,
    reading_problem: str | None,
    values: AuditValues | None,
    values_problem: str | None,
) -> list[Finding]:
    """What the check says about its view of the journal, before judging the entries (which it still does)."""
    findings = []
    if reading is None:
        findings.append(journal_unreadable(system, check, entry_type, reading_problem or "not read"))
    recording = recording_of(values, entry_type, values_problem)
    told_by_entries = recording.recorded is None and reading is not None and reading.entries_seen
    if recording.recorded is not True and not told_by_entries:
        findings.append(not_recorded(system, check, entry_type, recording))
    if reading is not None:
        findings += reading_notices(system, check, reading)
    return findings


def journal_view(
    readings: Readings, system: str, check: str, entry_type: str, journal: Source
) -> tuple[list[Finding], JournalReading | None]:
    """What a check reading `journal` (and AUDIT_VALUES) says about its view, and the reading to judge (None when
    the journal could not be read)."""
    reading: JournalReading | None = readings.optional(journal.name)
    findings = about_the_journal(
        system,
        check,
        entry_type,
        reading,
        readings.problem(journal.name),
        readings.optional(AUDIT_VALUES.name),
        readings.problem(AUDIT_VALUES.name),
    )
    return findings, reading


def shown_time(timestamp: str) -> str:
    """A journal timestamp to the second, as a person reads it."""
    return timestamp[:19]


def counted(counts: dict[str, int] | Sequence[tuple[str, int]], limit: int = 10) -> str:
    """`A (3), B (1)`, most first, at most `limit` named and the rest counted."""
    pairs = sorted(counts.items() if isinstance(counts, dict) else counts, key=lambda pair: (-pair[1], pair[0]))
    shown = ", ".join(f"{name} ({count})" for name, count in pairs[:limit])
    return shown + (f" and {len(pairs) - limit} more" if len(pairs) > limit else "")


def violation_text(code: str | None, meanings: Mapping[str, str]) -> str:
    """A VIOLATION_TYPE code with IBM's meaning; a code the bot does not know is shown as such, never dropped."""
    if code is None:
        return "violation type not given"
    meaning = meanings.get(code.upper())
    return f"{code} {meaning}" if meaning else f"{code} (a code the bot does not know)"


NOT_GIVEN = "-"  # the violation type of an entry that has none


def violation_of(entry: JournalEntry) -> str:
    """The entry's VIOLATION_TYPE code, upper case; NOT_GIVEN when it has none."""
    return (entry.text("VIOLATION_TYPE") or NOT_GIVEN).upper()


@dataclass
class Tally:
    """Entries counted together: how many, the first and last timestamps, and their VIOLATION_TYPE codes."""

    count: int = 0
    first: str = ""
    last: str = ""
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, entry: JournalEntry) -> None:
        timestamp = entry.timestamp
        self.count += 1
        self.first = min(self.first, timestamp) if self.first else timestamp
        self.last = max(self.last, timestamp)
        self.kinds[violation_of(entry)] += 1

    def times_detail(self) -> str:
        return f"First {shown_time(self.first)}, last {shown_time(self.last)}."

    def kinds_detail(self, meanings: Mapping[str, str]) -> str:
        named = {violation_text(None if code == NOT_GIVEN else code, meanings): n for code, n in self.kinds.items()}
        return f"Kinds: {counted(named)}."

    def facts(self) -> dict[str, Any]:
        return {
            "failures": self.count,
            "first": self.first,
            "last": self.last,
            "violation_types": dict(sorted(self.kinds.items())),
        }
