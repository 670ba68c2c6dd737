"""What every audit-journal check says besides its events: the journal could not be read, its entries are not
recorded (or the bot cannot tell), and the reading's notices (each said in the cycle that found it)."""

from __future__ import annotations

import hashlib

from bot.checks.audit_journal.auditing import AUDIT_VALUES, AuditValues, Recording, not_recorded
from bot.checks.audit_journal.reading import JournalReading
from bot.checks.definition import Readings
from bot.checks.finding import Finding


def journal_of(readings: Readings, source: str) -> JournalReading | None:
    """The check's journal reading; None when the bot's profile may not read it."""
    reading: JournalReading | None = readings.optional(source)
    return reading


def recording_of(readings: Readings, entry_type: str) -> Recording:
    """Whether the system records `entry_type` entries, as its audit system values say."""
    problem = readings.problem(AUDIT_VALUES.name)
    if problem is not None:
        return Recording(None, f"Cannot tell whether {entry_type} entries are recorded: {problem}")
    values: AuditValues = readings.value(AUDIT_VALUES.name)
    return values.recording(entry_type)


def journal_findings(
    system: str, check: str, entry_type: str, readings: Readings, source: str, reading: JournalReading | None
) -> list[Finding]:
    """The "cannot see" findings of an audit-journal check, and one finding per notice of the reading."""
    findings = []
    if reading is None:
        findings.append(
            Finding(
                system=system,
                check=check,
                severity="warning",
                subject=f"unreadable:{entry_type}",
                title=f"{check} cannot read the audit journal's {entry_type} entries",
                details=(
                    str(readings.problem(source)),
                    "Among IBM's requirements for SYSTOOLS.AUDIT_JOURNAL_*: *USE authority to QSYS/QAUDJRN and its "
                    "receivers and *OBJEXIST to QAUDJRN (IBM, AUDIT JOURNAL table function common information).",
                    "Nothing this check looks for can be ruled out.",
                ),
                facts={"entry_type": entry_type},
            )
        )
    recording = recording_of(readings, entry_type)
    if recording.recorded is not True:
        findings.append(not_recorded(system, check, entry_type, recording))
    for notice in reading.notices if reading is not None else ():
        digest = hashlib.sha256(notice.encode()).hexdigest()[:12]
        findings.append(
            Finding(
                system=system,
                check=check,
                severity="warning",
                subject=f"journal-notice:{entry_type}:{digest}",
                title=f"Audit journal ({entry_type} entries): {notice.split(':')[0]}",
                details=(notice,),
                facts={"entry_type": entry_type, "notice": notice},
            )
        )
    return findings
