"""special-authority-grants: CP entries judged into grants, allow-lists, and what the check cannot see."""

from __future__ import annotations

from typing import Any

import pytest

from bot.checks.audit_journal.auditing import AuditValues
from bot.checks.cycle import PlannedCheck, run_checks
from bot.checks.definition import CheckTarget
from bot.checks.special_authority_grants import CHECK, GrantsSettings, evaluate_entries
from bot.checks.splctl_exposure import SplctlSettings
from bot.ibmi.audit_journal import JournalEntry
from tests.journal_system import JournalSystem, at

FLAGS = ("ALLOBJ", "AUDIT", "IOSYSCFG", "JOBCTL", "SAVSYS", "SECADM", "SERVICE", "SPLCTL")


def cp(at: str, profile: str, held: tuple[str, ...] = (), command: str = "CHG", by: str = "QSECOFR", seq: int = 1):
    values: dict[str, Any] = {"ENTRY_TYPE": "A", "USER_PROFILE": profile, "COMMAND_TYPE": command}
    values |= {flag: "Y" if flag in held else "N" for flag in FLAGS}
    return JournalEntry(
        "CP", f"2026-12-03 {at}.000000", seq, by, "123456/QSECOFR/QPADEV0011", "QSYS/QSYCHGPR", values=values
    )


def by_subject(findings: list) -> dict:
    return {finding.subject: finding for finding in findings}


def test_a_grant_after_an_entry_without_the_flag_is_granted_and_names_who_did_it() -> None:
    entries = [cp("09:00:00", "JSMITH", (), seq=1), cp("10:00:00", "JSMITH", ("SPLCTL",), seq=2)]
    (finding,) = evaluate_entries("DEMO", entries, GrantsSettings(), frozenset({"QSECOFR"}))
    assert finding.subject == "JSMITH:*SPLCTL" and finding.severity == "warning"
    assert finding.title == "*SPLCTL granted to JSMITH by QSECOFR"
    assert finding.facts["granted"] is True and finding.facts["job"] == "123456/QSECOFR/QPADEV0011"
    assert "CHGUSRPRF or CHGEXPSCDE" in " ".join(finding.details)


def test_without_an_earlier_entry_it_says_changed_or_created_with_and_not_that_this_change_added_it() -> None:
    (finding,) = evaluate_entries("DEMO", [cp("10:00:00", "JSMITH", ("SPLCTL",))], GrantsSettings(), frozenset())
    assert finding.title == "JSMITH changed or created with *SPLCTL by QSECOFR"
    assert finding.facts["granted"] is False
    assert any("does not show whether this change added it" in line for line in finding.details)


def test_a_created_profile_says_created_and_critical_authorities_are_critical() -> None:
    (finding,) = evaluate_entries("DEMO", [cp("10:00:00", "NEWADM", ("ALLOBJ",), "CRT")], GrantsSettings(), frozenset())
    assert finding.title == "NEWADM created with *ALLOBJ by QSECOFR" and finding.severity == "critical"
    assert "CRTUSRPRF (created)" in " ".join(finding.details)


def test_allowed_holders_are_info_or_not_reported() -> None:
    entries = [cp("10:00:00", "QSECOFR", ("ALLOBJ", "SECADM")), cp("10:01:00", "OPER", ("JOBCTL",), seq=2)]
    settings = GrantsSettings(allowed_by_authority={"jobctl": ["oper"]})
    found = by_subject(evaluate_entries("DEMO", entries, settings, frozenset()))
    assert {f.severity for f in found.values()} == {"info"}
    assert set(found) == {"QSECOFR:*ALLOBJ", "QSECOFR:*SECADM", "OPER:*JOBCTL"}
    quiet = GrantsSettings(allowed_by_authority={"JOBCTL": ["OPER"]}, report_allowed=False)
    assert evaluate_entries("DEMO", entries, quiet, frozenset()) == []


def test_splctl_exposure_allow_list_allows_splctl_only() -> None:
    entries = [cp("10:00:00", "PRTADMIN", ("SPLCTL", "JOBCTL"))]
    found = by_subject(evaluate_entries("DEMO", entries, GrantsSettings(), frozenset({"PRTADMIN"})))
    assert found["PRTADMIN:*SPLCTL"].severity == "info"
    assert "splctl-exposure allowed_holders" in found["PRTADMIN:*SPLCTL"].facts["allowed_by"]
    assert found["PRTADMIN:*JOBCTL"].severity == "warning"


def test_a_grant_removed_later_in_the_window_is_info() -> None:
    entries = [
        cp("09:00:00", "JSMITH", seq=1),
        cp("10:00:00", "JSMITH", ("AUDIT",), seq=2),
        cp("11:00:00", "JSMITH", seq=3),
    ]
    (finding,) = evaluate_entries("DEMO", entries, GrantsSettings(), frozenset())
    assert finding.severity == "info" and finding.facts["removed_after"] == "2026-12-03 11:00:00.000000"


def test_unwatched_authorities_are_not_reported() -> None:
    assert evaluate_entries("DEMO", [cp("10:00:00", "SAVER", ("SAVSYS",))], GrantsSettings(), frozenset()) == []


def test_cp_entries_without_any_known_column_say_cannot_see_naming_them() -> None:
    entry = JournalEntry("CP", "2026-12-03 10:00:00.000000", 1, "QSECOFR", values={"USER_PROFILE": "JSMITH", "X": "Y"})
    (finding,) = evaluate_entries("DEMO", [entry], GrantsSettings(), frozenset())
    assert (
        finding.subject == "cp-columns"
        and "ALLOBJ" in finding.details[0]
        and finding.facts["returned"] == ["USER_PROFILE", "X"]
    )


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"authorities": ["*FOO"]}, "authorities"),
        ({"authorities": []}, "authorities"),
        ({"allowed_holders": "QSECOFR"}, "allowed_holders"),
        ({"allowed_by_authority": {"NOPE": ["X"]}}, "allowed_by_authority"),
        ({"max_entries": 0}, "max_entries"),
        ({"max_entries": 100_001}, "max_entries"),
        ({"window": 0}, "window"),
        ({"report_allowed": "yes"}, "report_allowed"),
    ],
)
def test_bad_settings_name_the_key(options: dict, key: str) -> None:
    with pytest.raises(ValueError) as caught:
        GrantsSettings(**options)
    assert str(caught.value).startswith(f"{key}: ")


def journal(*changes: tuple[float, str, tuple[str, ...]]) -> JournalSystem:
    """CP entries `minutes` from the system's clock: (minutes, profile, special authorities held)."""
    system = JournalSystem()
    for minutes, profile, held in changes:
        system.add(
            "CP",
            at(minutes),
            USER_NAME="QSECOFR",
            JOB_NAME="QPADEV0011",
            PROGRAM_LIBRARY="QSYS",
            PROGRAM_NAME="QSYCHGPR",
            ENTRY_TYPE="A",
            USER_PROFILE=profile,
            COMMAND_TYPE="CHG",
            **{flag: "Y" if flag in held else "N" for flag in FLAGS},
        )
    return system


def run(connection: JournalSystem, target: CheckTarget, settings: GrantsSettings | None = None):
    (outcome,) = run_checks(connection, target, [PlannedCheck(CHECK, settings or GrantsSettings())])
    assert outcome.error is None
    return outcome.findings


def test_through_a_cycle_the_check_reads_cp_entries_and_the_splctl_allow_list_of_the_target() -> None:
    connection = journal((-60, "JSMITH", ()), (-30, "JSMITH", ("SPLCTL",)))
    (finding,) = run(connection, CheckTarget("DEMO"))
    assert finding.title == "*SPLCTL granted to JSMITH by QSECOFR" and finding.severity == "warning"
    allowed = CheckTarget("DEMO", settings_of={"splctl-exposure": SplctlSettings(allowed_holders=("JSMITH",))})
    (finding,) = run(connection, allowed)
    assert finding.severity == "info"


def test_through_a_cycle_not_recorded_is_said_and_entries_are_still_judged() -> None:
    connection = journal((-30, "BOB", ("ALLOBJ",)))
    connection.audit_values = {"QAUDCTL": "*OBJAUD", "QAUDLVL": "*AUTFAIL", "QAUDLVL2": "*NONE"}
    found = by_subject(run(connection, CheckTarget("DEMO")))
    assert set(found) == {"not-recorded:CP", "BOB:*ALLOBJ"}
    assert found["not-recorded:CP"].severity == "warning"
    assert "CHGSYSVAL SYSVAL(QAUDLVL) VALUE('*AUTFAIL *SECURITY')" in found["not-recorded:CP"].facts["fix"]


def test_through_a_cycle_a_refused_journal_is_cannot_see() -> None:
    connection = journal((-30, "BOB", ("ALLOBJ",)))
    connection.refused.add("CP")
    found = by_subject(run(connection, CheckTarget("DEMO")))
    assert set(found) == {"journal-visibility"}


def test_recording_of_cp_follows_the_audit_values() -> None:
    assert AuditValues(("*AUDLVL",), ("*SECCFG",), ()).recording("CP").recorded is True
    assert AuditValues(None, None, None).recording("CP").recorded is None
