"""Doctor: which security audit journal entries a system records, whether the bot may read them, and what to
change (bot/checks/audit_journal/auditing.py decides; this module only reports)."""

from __future__ import annotations

from bot.checks.audit_journal.auditing import AuditValues, Recording
from bot.config import Config, SystemSettings
from bot.doctor.report import OK, UNKNOWN, WARN, Report
from bot.ibmi import audit_journal
from bot.ibmi.access import SystemConnection
from bot.ibmi.errors import NotAuthorizedError, ServiceMissingError, attempted

# Each entry type and the check that judges it.
JOURNAL_CHECKS = {
    "PW": "signon-attacks",
    "CP": "special-authority-grants",
    "CD": "changes-behind-the-bot",
    "AF": "authority-failures",
}
# IBM, "AUDIT JOURNAL table function common information".
JOURNAL_AUTHORITY = "*USE to QSYS/QAUDJRN and its receivers and *OBJEXIST to QAUDJRN (GRTOBJAUT)"


def check_audit_journal(config: Config, system: SystemSettings, connection: SystemConnection, report: Report) -> None:
    name = system.name
    read, error = attempted(lambda: audit_journal.read_audit_values(connection))
    if read is None:
        report.add(WARN, f"{name}: audit system values", str(error), fix="QSYS2.SYSTEM_VALUE_INFO must be readable")
        values = AuditValues(None, None, None)
    else:
        values = AuditValues(read["QAUDCTL"], read["QAUDLVL"], read["QAUDLVL2"])
        shown = "; ".join(
            f"{key} {' '.join(value) if value else '(blank)'}" for key, value in read.items() if value is not None
        )
        if values.qaudctl is None or values.qaudlvl is None:
            report.add(
                UNKNOWN,
                f"{name}: audit system values",
                "QAUDCTL, QAUDLVL and QAUDLVL2 read as *NOTAVL: the bot's profile holds neither *ALLOBJ nor *AUDIT",
                fix="check them with DSPSYSVAL as a security officer, or give the profile *AUDIT if policy allows",
            )
        else:
            report.add(OK, f"{name}: audit system values", shown)
    system_time, _ = attempted(lambda: audit_journal.read_system_time(connection))
    for entry_type, check in JOURNAL_CHECKS.items():
        enabled = config.check_for(system, check).enabled
        _report_entry_type(
            report, name, entry_type, check, enabled, values.recording(entry_type), connection, system_time
        )


def _report_entry_type(
    report: Report,
    name: str,
    entry_type: str,
    check: str,
    enabled: bool,
    recording: Recording,
    connection: SystemConnection,
    system_time: str | None,
) -> None:
    item = f"{name}: {entry_type} audit entries ({check}{'' if enabled else ', disabled'})"
    fix = "; ".join(recording.fix)
    if system_time is not None:
        _, error = attempted(lambda: audit_journal.read_entries(connection, entry_type, system_time, 1))
        if isinstance(error, ServiceMissingError):
            report.add(
                WARN,
                item,
                f"SYSTOOLS.AUDIT_JOURNAL_{entry_type} is missing: {error}",
                fix="install the current Db2 PTF group",
            )
            return
        if isinstance(error, NotAuthorizedError):
            report.add(WARN, item, f"not readable: {error}", fix=f"the bot's profile needs {JOURNAL_AUTHORITY}")
            return
        if error is not None:
            report.add(WARN, item, f"reading SYSTOOLS.AUDIT_JOURNAL_{entry_type} failed: {error}")
            return
    if recording.recorded is True:
        report.add(OK, item, recording.reason)
    elif recording.recorded is False:
        report.add(WARN, item, recording.reason, fix=fix)
    else:
        report.add(UNKNOWN, item, recording.reason, fix=fix)
