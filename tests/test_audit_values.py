"""Which audit journal entries a system records, told from QAUDCTL, QAUDLVL and QAUDLVL2
(bot/checks/audit_journal/auditing.py), and the "cannot see" finding a check makes of it."""

from __future__ import annotations

from typing import Any

from bot.checks.audit_journal.auditing import AuditValues, not_recorded
from bot.ibmi import audit_journal


def values(qaudctl: str | None, qaudlvl: str | None, qaudlvl2: str | None = "") -> AuditValues:
    split = lambda text: None if text is None else tuple(text.split())  # noqa: E731
    return AuditValues(split(qaudctl), split(qaudlvl), split(qaudlvl2))


def test_authority_failures_and_sign_ons_need_audlvl_and_autfail():
    on = values("*AUDLVL *OBJAUD", "*AUTFAIL *SECURITY")
    assert on.recording("PW").recorded is True and on.recording("AF").recorded is True
    off = values("*OBJAUD", "*SECURITY")
    recording = off.recording("PW")
    assert recording.recorded is False
    assert "QAUDCTL is *OBJAUD, without *AUDLVL" in recording.reason and "*AUTFAIL" in recording.reason
    assert recording.fix == (
        "CHGSYSVAL SYSVAL(QAUDCTL) VALUE('*OBJAUD *AUDLVL')",
        "CHGSYSVAL SYSVAL(QAUDLVL) VALUE('*SECURITY *AUTFAIL')",
    )


def test_qaudlvl2_counts_only_when_qaudlvl_names_audlvl2():
    assert values("*AUDLVL", "*AUDLVL2", "*AUTFAIL").recording("AF").recorded is True
    assert values("*AUDLVL", "*CREATE", "*AUTFAIL").recording("AF").recorded is False


def test_profile_changes_need_security_or_seccfg_and_none_is_replaced_in_the_fix():
    assert values("*AUDLVL", "*SECCFG").recording("CP").recorded is True
    recording = values("*NONE", "*NONE").recording("CP")
    assert recording.fix == (
        "CHGSYSVAL SYSVAL(QAUDCTL) VALUE('*AUDLVL')",
        "CHGSYSVAL SYSVAL(QAUDLVL) VALUE('*SECURITY')",
    )


def test_values_the_profile_may_not_read_make_it_cannot_tell_never_fine():
    recording = values(None, None).recording("PW")
    assert recording.recorded is None and "*ALLOBJ or *AUDIT" in recording.reason


def test_command_strings_are_not_told_by_system_values_unless_auditing_is_off_altogether():
    assert values("*AUDLVL", "*AUTFAIL").recording("CD").recorded is None
    off = values("*NONE", "*NONE").recording("CD")
    assert off.recorded is False and off.fix == ("CHGSYSVAL SYSVAL(QAUDCTL) VALUE('*AUDLVL *OBJAUD')",)


def test_the_finding_says_cannot_see_with_the_fix_or_cannot_tell():
    finding = not_recorded("PROD", "signon-attacks", "PW", values("*NONE", "*NONE").recording("PW"))
    assert finding.title == "signon-attacks cannot see: this system does not record PW audit entries"
    assert finding.severity == "warning" and any("CHGSYSVAL" in line for line in finding.details)
    unknown = not_recorded("PROD", "signon-attacks", "PW", values(None, None).recording("PW"))
    assert unknown.severity == "info" and "cannot tell" in unknown.title and unknown.subject == "not-recorded:PW"


class Rows:
    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def query(self, statement: str, params: Any = ()) -> list[dict[str, Any]]:
        assert statement == audit_journal.AUDIT_SYSTEM_VALUES
        return self.rows


def test_the_values_are_read_split_on_blanks_and_notavl_is_unknown():
    read = audit_journal.read_audit_values(
        Rows(
            [
                {"SYSTEM_VALUE_NAME": "QAUDCTL", "CURRENT_CHARACTER_VALUE": "*AUDLVL   *OBJAUD  "},
                {"SYSTEM_VALUE_NAME": "QAUDLVL", "CURRENT_CHARACTER_VALUE": "*NOTAVL"},
            ]
        )  # type: ignore[arg-type]
    )
    assert read == {"QAUDCTL": ("*AUDLVL", "*OBJAUD"), "QAUDLVL": None, "QAUDLVL2": None}
