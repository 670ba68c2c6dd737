"""Which audit journal entries a system records, from its audit system values, and what to change when it does not.

- QAUDCTL must hold *AUDLVL for the QAUDLVL and QAUDLVL2 values to take effect, and QAUDLVL must hold *AUDLVL2 for
  QAUDLVL2 to be used (IBM Documentation, "Auditing level (QAUDLVL)" and "Auditing level extension (QAUDLVL2)").
- PW and AF entries: *AUTFAIL ("Authority failure events are logged"; IBM's own check for the PW and AF services
  tests QAUDLVL or QAUDLVL2 for *AUTFAIL with QAUDCTL *AUDLVL).
- CP entries: *SECURITY or *SECCFG (IBM Support, "IBM i Audit Journal User Profile Changes -
  SYSTOOLS.AUDIT_JOURNAL_CP").
- CD entries: not a system-wide value. They are written for the users whose action auditing has *CMD
  (CHGUSRAUD USRPRF(...) AUDLVL(*CMD); IBM Support, "Auditing user profiles command string operations") or for
  commands audited as objects (CHGOBJAUD OBJ(QSYS/CHGSMTPA) OBJTYPE(*CMD) OBJAUD(*ALL), with QAUDCTL *OBJAUD). The
  system values cannot show either, so the bot says it cannot tell until CD entries arrive.
- Reading the values needs *ALLOBJ or *AUDIT; without, IBM returns *NOTAVL, which the bot reports as "cannot tell".
- CHGSYSVAL replaces a whole list, so the command given keeps the values already set (IBM, CHGSYSVAL: a list is
  given blank-separated in apostrophes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.checks.definition import Source, SourceContext
from bot.checks.finding import Finding
from bot.ibmi import audit_journal

# The auditing levels each entry type needs (any one of them).
NEEDED_LEVELS: Mapping[str, tuple[str, ...]] = {
    "PW": ("*AUTFAIL",),
    "AF": ("*AUTFAIL",),
    "CP": ("*SECURITY", "*SECCFG"),
}
READ_NEEDS = "reading QAUDCTL, QAUDLVL and QAUDLVL2 needs *ALLOBJ or *AUDIT special authority (IBM returns *NOTAVL)"


@dataclass(frozen=True)
class Recording:
    """Whether the system records an entry type: True, False, or None (cannot tell), why, and the fix."""

    recorded: bool | None
    reason: str
    fix: tuple[str, ...] = ()  # the CL commands that would turn it on


@dataclass(frozen=True)
class AuditValues:
    qaudctl: tuple[str, ...] | None  # None: not readable
    qaudlvl: tuple[str, ...] | None
    qaudlvl2: tuple[str, ...] | None

    def recording(self, entry_type: str) -> Recording:
        if entry_type == "CD":
            return self._commands()
        needed = NEEDED_LEVELS[entry_type]
        if self.qaudctl is None or self.qaudlvl is None:
            return Recording(None, f"Cannot tell whether {entry_type} entries are recorded: {READ_NEEDS}.")
        levels = set(self.qaudlvl)
        if "*AUDLVL2" in levels:
            levels |= set(self.qaudlvl2 or ())
        wanted = " or ".join(needed)
        missing_control = "*AUDLVL" not in self.qaudctl
        missing_level = not levels.intersection(needed)
        if not missing_control and not missing_level:
            present = next(level for level in needed if level in levels)
            return Recording(True, f"{entry_type} entries are recorded (QAUDCTL *AUDLVL, auditing level {present}).")
        fix = []
        problems = []
        if missing_control:
            problems.append(f"QAUDCTL is {_shown(self.qaudctl)}, without *AUDLVL")
            fix.append(_chgsysval("QAUDCTL", _with(self.qaudctl, "*AUDLVL")))
        if missing_level:
            problems.append(f"neither QAUDLVL nor QAUDLVL2 holds {wanted}")
            fix.append(_chgsysval("QAUDLVL", _with(self.qaudlvl, needed[0])))
        return Recording(False, f"{entry_type} entries are not recorded: {'; '.join(problems)}.", tuple(fix))

    def _commands(self) -> Recording:
        if self.qaudctl is not None and not {"*AUDLVL", "*OBJAUD"} & set(self.qaudctl):
            return Recording(
                False,
                f"CD entries are not recorded: QAUDCTL is {_shown(self.qaudctl)}, without *AUDLVL or *OBJAUD.",
                (_chgsysval("QAUDCTL", _with(_with(self.qaudctl, "*AUDLVL"), "*OBJAUD")),),
            )
        return Recording(
            None,
            "Cannot tell from the system values whether commands are audited: CD entries are written for users "
            "whose action auditing has *CMD (CHGUSRAUD) or for commands audited as objects (CHGOBJAUD).",
            (
                "CHGUSRAUD USRPRF(QSECOFR) AUDLVL(*CMD)",
                "CHGOBJAUD OBJ(QSYS/CHGSMTPA) OBJTYPE(*CMD) OBJAUD(*ALL)",
            ),
        )


def _shown(values: tuple[str, ...]) -> str:
    return " ".join(values) if values else "blank"


def _with(values: tuple[str, ...], added: str) -> tuple[str, ...]:
    kept = tuple(value for value in values if value != "*NONE")
    return kept if added in kept else (*kept, added)


def _chgsysval(name: str, values: tuple[str, ...]) -> str:
    return f"CHGSYSVAL SYSVAL({name}) VALUE('{' '.join(values)}')"


def read_audit_values(context: SourceContext) -> AuditValues:
    values = audit_journal.read_audit_values(context.connection)
    return AuditValues(values["QAUDCTL"], values["QAUDLVL"], values["QAUDLVL2"])


AUDIT_VALUES = Source("audit-values", read_audit_values, service="QSYS2.SYSTEM_VALUE_INFO")


def not_recorded(system: str, check: str, entry_type: str, recording: Recording) -> Finding:
    """The check cannot see its events: they are not recorded, or the bot cannot tell whether they are."""
    cannot_tell = recording.recorded is None
    title = (
        f"{check} cannot tell whether this system records {entry_type} audit entries"
        if cannot_tell
        else f"{check} cannot see: this system does not record {entry_type} audit entries"
    )
    details = [recording.reason, "Nothing this check looks for can be ruled out."]
    if recording.fix:
        details.append("To turn it on (needs *AUDIT special authority): " + "; ".join(f"`{c}`" for c in recording.fix))
    return Finding(
        system=system,
        check=check,
        severity="info" if cannot_tell else "warning",
        subject=f"not-recorded:{entry_type}",
        title=title,
        details=tuple(details),
        facts={"entry_type": entry_type, "recorded": recording.recorded, "fix": list(recording.fix)},
    )
