"""special-authority-grants: user profiles created or changed holding a watched special authority (CP entries).

IBM sources: "CP (User Profile Changes) journal entries"
(https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzarl/rzarlf12.htm): entry type A, a change to a user
profile; the command type (CRT CRTUSRPRF, CHG CHGUSRPRF or CHGEXPSCDE, RST RSTUSRPRF, DST QSECOFR password reset
using DST, RPA the QSYRESPA API, SQL the QSYS2/SET_SERVER_SBS_ROUTING() procedure); one Y/N field per special
authority, "Current *ALLOBJ special authority" and so on: the state after the change, not what changed. IBM Support,
"IBM i Audit Journal User Profile Changes - SYSTOOLS.AUDIT_JOURNAL_CP", selects USER_NAME, JOB_NAME, USER_PROFILE,
COMMAND_TYPE, PROGRAM_NAME, PROGRAM_LIBRARY. The SQL names of the special-authority columns are UNCONFIRMED: the
check looks for ALLOBJ, AUDIT, IOSYSCFG, JOBCTL, SAVSYS, SECADM, SERVICE and SPLCTL (the special authorities without
the asterisk), and says it cannot see when a system returns none of them.

What a CP entry shows is the profile's authorities after the change. So a grant is told only by comparing with an
earlier CP entry of the same profile kept within the window: lacking the flag there and holding it here is
"granted"; otherwise the entry says only that the profile was "changed or created with" the authority.

Severity: a holder on an allow-list (this check's allowed_holders or allowed_by_authority; for *SPLCTL also
splctl-exposure's allowed_holders) is info, or not reported with report_allowed = false; anyone else is critical
for the critical_authorities (default *ALLOBJ, *SECADM, *AUDIT), warning for the rest. A grant a later entry in the
window shows removed again is info.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.checks.finding import Finding
from bot.checks.special_authority_grants.settings import CHECK_ID, SPECIAL_AUTHORITIES, GrantsSettings
from bot.ibmi.audit_journal import JournalEntry

COMMAND_TYPES = {
    "CRT": "CRTUSRPRF (created)",
    "CHG": "CHGUSRPRF or CHGEXPSCDE (changed)",
    "RST": "RSTUSRPRF (restored)",
    "DST": "QSECOFR password reset using DST",
    "RPA": "the QSYRESPA API",
    "SQL": "the QSYS2/SET_SERVER_SBS_ROUTING() procedure",
}
_YES = frozenset({"Y", "YES", "*YES", "1", "TRUE"})
_NO = frozenset({"N", "NO", "*NO", "0", "FALSE"})

WHY = {
    "*ALLOBJ": "*ALLOBJ gives access to every object on the system, whatever its authorities.",
    "*SECADM": "*SECADM lets the profile create and change user profiles, and so give others authorities.",
    "*AUDIT": "*AUDIT lets the profile change what is audited, and so hide what it does next.",
    "*SPLCTL": "*SPLCTL opens every spooled file on every output queue, payroll and HR reports included.",
    "*JOBCTL": "*JOBCTL lets the profile hold, end and change other users' jobs, and control output queues "
    "with OPRCTL(*YES).",
    "*IOSYSCFG": "*IOSYSCFG lets the profile change the system's communications and TCP/IP configuration.",
    "*SAVSYS": "*SAVSYS lets the profile save and restore every object, whatever its authorities.",
    "*SERVICE": "*SERVICE lets the profile use the service tools (traces, dumps, patches).",
}


def column(special: str) -> str:
    """The CP column read for a special authority (UNCONFIRMED: see the module docstring)."""
    return special.lstrip("*")


def flag(entry: JournalEntry, special: str) -> bool | None:
    """Whether the entry shows the profile holding `special`; None when the column is absent or unreadable."""
    text = entry.text(column(special))
    if text is None:
        return None
    text = text.upper()
    return True if text in _YES else False if text in _NO else None


def profile_of(entry: JournalEntry) -> str | None:
    return (entry.text("USER_PROFILE") or "").upper() or None


@dataclass(frozen=True)
class ProfileChange:
    """A CP entry changing (or creating) a profile, with the special authorities it shows the profile holding."""

    entry: JournalEntry
    profile: str
    flags: dict[str, bool | None]  # each special authority the bot knows: held, not held, or not told


def changed_profile(entry: JournalEntry) -> str | None:
    """The profile a change to a named profile (entry type A) is about; None for any other entry."""
    if (entry.text("ENTRY_TYPE") or "A").upper() != "A":
        return None
    return profile_of(entry)


def is_profile_change(entry: JournalEntry) -> bool:
    """The entries the check judges, and the journal keeps."""
    return changed_profile(entry) is not None


def profile_change(entry: JournalEntry) -> ProfileChange | None:
    """The entry read, when it is a change to a profile: depends on the entry alone, so a run may keep it for the
    next (memo.EntryMemo)."""
    profile = changed_profile(entry)
    if profile is None:
        return None
    return ProfileChange(entry, profile, {special: flag(entry, special) for special in SPECIAL_AUTHORITIES})


@dataclass(frozen=True)
class Holding:
    """What the kept CP entries say of one profile holding one special authority."""

    profile: str
    special: str
    entry: JournalEntry  # the grant, or the last entry showing the profile holding it
    granted: bool  # an earlier kept entry of the profile lacked the flag
    changes: int  # kept entries showing the profile holding it
    removed_after: JournalEntry | None  # a later entry showing it without


def holdings(changes: Sequence[ProfileChange | None], watched: Sequence[str]) -> list[Holding]:
    """Each (profile, watched authority) the profile changes show held, from the changes oldest first."""
    by_profile: dict[str, list[ProfileChange]] = {}
    for change in changes:
        if change is not None:
            by_profile.setdefault(change.profile, []).append(change)
    found = []
    for profile, history in sorted(by_profile.items()):
        for special in watched:
            holding = _holding(profile, special, history)
            if holding is not None:
                found.append(holding)
    return found


def _holding(profile: str, special: str, history: Sequence[ProfileChange]) -> Holding | None:
    grant: JournalEntry | None = None
    last_held: JournalEntry | None = None
    removed_after: JournalEntry | None = None
    changes = 0
    previous: bool | None = None
    for change in history:
        held = change.flags[special]
        if held:
            changes += 1
            last_held, removed_after = change.entry, None
            if previous is False:
                grant = change.entry
        elif held is False and last_held is not None:
            removed_after = change.entry
        previous = held if held is not None else previous
    if last_held is None:
        return None
    return Holding(profile, special, grant or last_held, grant is not None, changes, removed_after)


def evaluate_entries(
    system: str,
    entries: Sequence[JournalEntry],
    settings: GrantsSettings,
    splctl_allowed: frozenset[str],
    changes_of: Callable[[Sequence[JournalEntry]], list[ProfileChange | None]] | None = None,
) -> list[Finding]:
    """The findings for the CP entries kept within the window (oldest first), and "cannot see" when none of them
    carries a special-authority column the check knows. `changes_of` reads the entries (`profile_change` for each;
    the check passes one that keeps the answers from run to run)."""
    if entries and not any(column(s) in entry.values for entry in entries for s in SPECIAL_AUTHORITIES):
        return [cannot_see_columns(system, entries)]
    changes = changes_of(entries) if changes_of is not None else [profile_change(entry) for entry in entries]
    findings = []
    for holding in holdings(changes, settings.authorities):
        finding = holding_finding(system, holding, settings, splctl_allowed)
        if finding is not None:
            findings.append(finding)
    return findings


def holding_finding(
    system: str, holding: Holding, settings: GrantsSettings, splctl_allowed: frozenset[str]
) -> Finding | None:
    profile, special, entry = holding.profile, holding.special, holding.entry
    allowed_by = []
    if settings.allowed_by_this_check(profile, special):
        allowed_by.append(f"{CHECK_ID} allowed_holders")
    if special == "*SPLCTL" and profile in splctl_allowed:
        allowed_by.append("splctl-exposure allowed_holders")
    if allowed_by and not settings.report_allowed:
        return None
    command = (entry.text("COMMAND_TYPE") or "").upper() or None
    meaning = COMMAND_TYPES.get(command or "", "a command type this bot does not know")
    who = entry.user or "an unknown user"
    if holding.granted:
        title = f"{special} granted to {profile} by {who}"
        how = (
            f"{profile} was changed by {who} at {entry.timestamp}: the entry shows {special}, and the earlier "
            f"change kept lacked it, so this change granted it."
        )
    else:
        title = f"{profile} {'created' if command == 'CRT' else 'changed or created'} with {special} by {who}"
        how = (
            f"{profile} was changed or created by {who} at {entry.timestamp}, holding {special} afterwards. A CP "
            "entry shows the authorities after the change: it does not show whether this change added it."
        )
    details = [
        how,
        WHY[special],
        f"Command type: {command or 'not given'} ({meaning}). Job: {entry.job or 'not given'}. "
        f"Program: {entry.program or 'not given'}."
        + (f" From {entry.remote_address}." if entry.remote_address else ""),
    ]
    if holding.changes > 1:
        details.append(f"{holding.changes} changes of {profile} within the window show {special}.")
    if holding.removed_after is not None:
        details.append(f"A later change at {holding.removed_after.timestamp} shows {profile} without {special}.")
    if allowed_by:
        details.append(f"{profile} is allowed to hold {special} ({' and '.join(allowed_by)}).")
        severity = "info"
    else:
        details.append(f"{profile} is on no allow-list for {special}: add it to allowed_holders if this is intended.")
        severity = "critical" if special in settings.critical_authorities else "warning"
    if holding.removed_after is not None:
        severity = "info"
    return Finding(
        system=system,
        check=CHECK_ID,
        severity=severity,
        subject=f"{profile}:{special}",
        title=title,
        details=tuple(details),
        facts={
            "profile": profile,
            "authority": special,
            "granted": holding.granted,
            "by": entry.user,
            "job": entry.job,
            "program": entry.program,
            "command_type": command,
            "at": entry.timestamp,
            "allowed": bool(allowed_by),
            "allowed_by": allowed_by,
            "removed_after": holding.removed_after.timestamp if holding.removed_after else None,
        },
    )


def cannot_see_columns(system: str, entries: Sequence[JournalEntry]) -> Finding:
    looked_for = [column(special) for special in SPECIAL_AUTHORITIES]
    returned = sorted({name for entry in entries for name in entry.values})
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="warning",
        subject="cp-columns",
        title="Cannot see special authorities in this system's CP entries",
        details=(
            f"SYSTOOLS.AUDIT_JOURNAL_CP returned none of the columns the bot looks for ({', '.join(looked_for)}); "
            "their names are not confirmed in IBM's documentation.",
            f"It returned: {', '.join(returned) or 'no entry-specific column'}.",
            "Special authorities granted cannot be ruled out: report the column names to the project.",
        ),
        facts={"looked_for": looked_for, "returned": returned},
    )
