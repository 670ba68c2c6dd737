"""authority-failures: authority failures (AF audit journal entries) on objects the other checks call sensitive.

IBM source: "AF (Authority Failure) journal entries" (https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzarl/rzarlf06.htm)
gives the violation types below; SYSTOOLS.AUDIT_JOURNAL_AF returns them as VIOLATION_TYPE with OBJECT_LIBRARY,
OBJECT_NAME and OBJECT_TYPE; USER_NAME and JOB_NAME are the header's (the job's user profile and job). Entries on
objects outside libraries (PATH_NAME) are not judged. A violation type the bot does not know is shown as such.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.checks.audit_journal.judging import Tally, counted
from bot.checks.authority_failures.settings import CHECK_ID, AuthorityFailureSettings
from bot.checks.finding import Finding
from bot.ibmi.audit_journal import JournalEntry

# IBM, "AF (Authority Failure) journal entries": the violation type codes.
AF_VIOLATIONS = {
    "A": "not authorized to object",
    "B": "restricted instruction",
    "C": "validation failure",
    "D": "use of unsupported interface, object domain failure",
    "E": "hardware storage protection error, program constant space violation",
    "F": "ICAPI authorization error (obsolete)",
    "G": "ICAPI authentication error (obsolete)",
    "H": "scan exit program action",
    "I": "system Java inheritance not allowed",
    "J": "submit job profile error",
    "K": "special authority violation",
    "N": "profile token not a regenerable token",
    "O": "optical object authority failure",
    "P": "profile swap error",
    "R": "hardware protection error",
    "S": "default sign-on attempt",
    "T": "not authorized to TCP/IP port",
    "U": "user permission request not valid",
    "V": "profile token not valid for generating new profile token",
    "W": "profile token not valid for swap",
    "X": "system violation",
    "Y": "not authorized to the current JUID field during a clear JUID operation",
    "Z": "not authorized to the current JUID field during a set JUID operation",
}
UNKNOWN_USER = "(unknown user)"


@dataclass
class Refusals(Tally):
    """One user's authority failures on one object within the window."""

    jobs: Counter[str] = field(default_factory=Counter)
    programs: Counter[str] = field(default_factory=Counter)

    def add_refusal(self, entry: JournalEntry) -> None:
        self.add(entry)
        if entry.job:
            self.jobs[entry.job] += 1
        if entry.program:
            self.programs[entry.program] += 1


@dataclass(frozen=True)
class ObjectKey:
    library: str
    name: str
    object_type: str | None
    user: str

    @property
    def shown(self) -> str:
        kind = f" ({self.object_type})" if self.object_type else ""
        return f"{self.library}/{self.name}{kind}"

    @property
    def subject(self) -> str:
        return f"object:{self.library}/{self.name}:{self.object_type or '?'}:user:{self.user}"


def object_of(entry: JournalEntry) -> tuple[str, str, str | None] | None:
    library, name = entry.text("OBJECT_LIBRARY"), entry.text("OBJECT_NAME")
    if library is None or name is None:
        return None
    object_type = entry.text("OBJECT_TYPE")
    return library.upper(), name.upper(), object_type.upper() if object_type else None


def on_sensitive_objects(settings: AuthorityFailureSettings) -> Callable[[JournalEntry], bool]:
    """Whether an entry is on a sensitive object (each object judged once): the journal keeps only those."""
    sensitive = settings.sensitive_matcher()
    known: dict[tuple[str, str, str | None], bool] = {}

    def keeps(entry: JournalEntry) -> bool:
        found = object_of(entry)
        if found is None:
            return False
        if found not in known:
            known[found] = sensitive(*found) is not None
        return known[found]

    return keeps


def evaluate(system: str, entries: Iterable[JournalEntry], settings: AuthorityFailureSettings) -> list[Finding]:
    """One finding per user and sensitive object, sorted by subject."""
    sensitive = settings.sensitive_matcher()
    why: dict[tuple[str, str, str | None], str | None] = {}
    groups: dict[ObjectKey, Refusals] = {}
    for entry in entries:
        found = object_of(entry)
        if found is None:
            continue
        if found not in why:
            why[found] = sensitive(*found)
        if why[found] is None:
            continue
        key = ObjectKey(*found, entry.user.upper() if entry.user else UNKNOWN_USER)
        refusals = groups.get(key)
        if refusals is None:
            refusals = groups[key] = Refusals()
        refusals.add_refusal(entry)
    return [
        _finding(system, key, refusals, why[key.library, key.name, key.object_type] or "", settings)
        for key, refusals in sorted(groups.items(), key=lambda item: item[0].subject)
    ]


def _finding(
    system: str, key: ObjectKey, refusals: Refusals, reason: str, settings: AuthorityFailureSettings
) -> Finding:
    count = refusals.count
    times = "once" if count == 1 else "twice" if count == 2 else f"{count} times"
    details = [f"Sensitive: {reason}."]
    if refusals.jobs:
        details.append(f"Job{'s' if len(refusals.jobs) > 1 else ''}: {counted(dict(refusals.jobs))}.")
    details.append(refusals.kinds_detail(AF_VIOLATIONS))
    if refusals.programs:
        details.append(f"Program{'s' if len(refusals.programs) > 1 else ''}: {counted(dict(refusals.programs))}.")
    details.append(refusals.times_detail())
    if count >= settings.critical_at:
        details.append(f"Critical: at least critical_at ({settings.critical_at}) failures.")
    facts: dict[str, Any] = {
        "user": key.user,
        "object": {"library": key.library, "name": key.name, "type": key.object_type},
        "sensitive": reason,
        "jobs": dict(sorted(refusals.jobs.items())),
        "programs": dict(sorted(refusals.programs.items())),
        "window_seconds": settings.window,
        **refusals.facts(),
    }
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="critical" if count >= settings.critical_at else "warning",
        subject=key.subject,
        title=f"{key.user} was refused {key.shown} {times}",
        details=tuple(details),
        facts=facts,
    )
