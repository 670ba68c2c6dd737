"""authority-failures: AF entries on sensitive objects, per object and user; its view of the journal."""

from __future__ import annotations

from typing import Any

import pytest

from bot.checks import authority_failures
from bot.checks.authority_failures import AuthorityFailureSettings, evaluate
from bot.checks.cycle import PlannedCheck, run_checks
from bot.checks.definition import CheckTarget
from bot.checks.finding import Finding
from bot.checks.splctl_exposure.settings import SplctlSettings
from bot.ibmi.audit_journal import JournalEntry
from tests.journal_system import JournalSystem, at

SETTINGS = AuthorityFailureSettings(critical_at=3)


def af(
    library: str | None = "PAYLIB",
    name: str | None = "PAYROLL",
    object_type: str | None = "*OUTQ",
    user: str | None = "JSMITH",
    kind: str | None = "A",
    minute: float = -5.0,
    job: str | None = "123456/JSMITH/QPADEV0005",
) -> JournalEntry:
    values = {"VIOLATION_TYPE": kind, "OBJECT_LIBRARY": library, "OBJECT_NAME": name, "OBJECT_TYPE": object_type}
    return JournalEntry("AF", at(minute), user=user, job=job, program="QSYS/QSPDSPF", values=values)


def test_a_failure_on_a_sensitive_output_queue_names_user_job_kind_and_object():
    [finding] = evaluate("PROD", [af()], SETTINGS)
    assert finding.subject == "object:PAYLIB/PAYROLL:*OUTQ:user:JSMITH" and finding.severity == "warning"
    assert finding.title == "JSMITH was refused PAYLIB/PAYROLL (*OUTQ) once"
    assert finding.details[0] == "Sensitive: an output queue matching sensitive_patterns PAY*."
    assert "Job: 123456/JSMITH/QPADEV0005 (1)." in finding.details
    assert "Kinds: A not authorized to object (1)." in finding.details
    assert finding.facts["object"] == {"library": "PAYLIB", "name": "PAYROLL", "type": "*OUTQ"}
    assert finding.facts["first"] == finding.facts["last"] == at(-5)


def test_critical_at_the_threshold_not_below():
    assert evaluate("PROD", [af(minute=-i) for i in range(2)], SETTINGS)[0].severity == "warning"
    [finding] = evaluate("PROD", [af(minute=-i) for i in range(3)], SETTINGS)
    assert finding.severity == "critical" and finding.title.endswith("3 times")
    assert finding.facts["first"] == at(-2) and finding.facts["last"] == at(0)


def test_one_finding_per_object_and_user():
    entries = [af(), af(user="MLOPEZ"), af(name="HRREPORTS", library="HRLIB"), af(user="jsmith")]
    findings = evaluate("PROD", entries, SETTINGS)
    assert [f.subject for f in findings] == [
        "object:HRLIB/HRREPORTS:*OUTQ:user:JSMITH",
        "object:PAYLIB/PAYROLL:*OUTQ:user:JSMITH",
        "object:PAYLIB/PAYROLL:*OUTQ:user:MLOPEZ",
    ]
    assert findings[1].facts["failures"] == 2


def test_objects_that_are_not_sensitive_are_not_findings():
    entries = [af(name="QPRINT", library="QGPL"), af(object_type="*FILE"), af(library=None), af(name=None)]
    assert evaluate("PROD", entries, SETTINGS) == []


def test_the_patterns_are_splctl_exposures_by_default_and_configurable():
    assert AuthorityFailureSettings().sensitive_patterns == SplctlSettings().sensitive_queues
    settings = AuthorityFailureSettings(sensitive_patterns=["*CHEQUE*"])
    assert evaluate("PROD", [af()], settings) == []
    assert len(evaluate("PROD", [af(library="FINLIB", name="CHEQUES")], settings)) == 1
    assert evaluate("PROD", [af()], AuthorityFailureSettings(sensitive_patterns=[])) == []


def test_output_queue_types_are_read_with_or_without_asterisk_and_a_missing_type_is_not_ruled_out():
    assert len(evaluate("PROD", [af(object_type="outq")], SETTINGS)) == 1
    [finding] = evaluate("PROD", [af(object_type=None)], SETTINGS)
    assert finding.subject == "object:PAYLIB/PAYROLL:?:user:JSMITH"


def test_other_sensitive_objects_are_listed_by_lib_and_name_with_wildcards():
    settings = AuthorityFailureSettings(sensitive_objects=["paylib/*", "HRLIB/EMP???"])
    [emp, file] = evaluate(
        "PROD", [af(object_type="*FILE", name="MASTER"), af("HRLIB", "EMPMAS", "*FILE"), af("HRLIB", "X", "*FILE")],
        settings,
    )  # fmt: skip
    assert file.details[0] == "Sensitive: listed in sensitive_objects (PAYLIB/*)."
    assert emp.facts["object"]["name"] == "EMPMAS"


def test_unknown_and_missing_violation_types_and_users_are_shown():
    [finding] = evaluate("PROD", [af(kind="Q"), af(kind=None)], SETTINGS)
    assert "Q (a code the bot does not know) (1)" in finding.details[2]
    assert "violation type not given (1)" in finding.details[2]
    [unknown] = evaluate("PROD", [af(user=None, job=None)], SETTINGS)
    assert unknown.facts["user"] == "(unknown user)" and not any(d.startswith("Job") for d in unknown.details)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window": -1}, "window: must be a duration"),
        ({"max_entries": 0}, "max_entries: must be a whole number from 1 to 100000"),
        ({"critical_at": 0}, "critical_at: must be a whole number of at least 1"),
        ({"sensitive_patterns": "PAY*"}, "sensitive_patterns: must be a list of strings"),
        ({"sensitive_patterns": ["PAY*", " "]}, "sensitive_patterns: must hold non-empty strings"),
        ({"sensitive_objects": ["PAYROLL"]}, "sensitive_objects: 'PAYROLL' is not LIB/NAME"),
        ({"sensitive_objects": ["PAYLIB/PAY ROLL"]}, "is not LIB/NAME"),
        ({"sensitive_objects": ["TOOLONGLIBRARY/X"]}, "is not LIB/NAME"),
    ],
)
def test_bad_settings_say_what_is_wrong(options: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=message):
        AuthorityFailureSettings(**options)


# --- the check in a cycle, against a fake system -------------------------------------------------


def cycle(system: JournalSystem, **options: Any) -> list[Finding]:
    planned = PlannedCheck(authority_failures.CHECK, authority_failures.CHECK.build_settings(options))
    [outcome] = run_checks(system, CheckTarget("PROD"), [planned])  # type: ignore[arg-type]
    assert outcome.error is None, outcome.error
    return outcome.findings


def refused(system: JournalSystem, name: str = "PAYROLL", minute: float = -3.0) -> None:
    system.add(
        "AF",
        at(minute),
        USER_NAME="JSMITH",
        JOB_NAME="QPADEV0005",
        JOB_USER="JSMITH",
        JOB_NUMBER="123456",
        VIOLATION_TYPE="A",
        OBJECT_LIBRARY="PAYLIB",
        OBJECT_NAME=name,
        OBJECT_TYPE="*OUTQ",
        PATH_NAME=None,
    )


def test_a_cycle_reports_the_payroll_failure_and_nothing_else():
    system = JournalSystem()
    refused(system)
    refused(system, "OTHER")
    [finding] = cycle(system, sensitive_patterns=["PAYLIB/PAYROLL"])
    assert finding.subject == "object:PAYLIB/PAYROLL:*OUTQ:user:JSMITH"
    assert finding.facts["jobs"] == {"123456/JSMITH/QPADEV0005": 1}
    assert authority_failures.CHECK.default_interval == 60.0


@pytest.mark.parametrize(
    ("values", "severity"),
    [({"QAUDLVL": "*SECURITY"}, "warning"), ({"QAUDCTL": "*OBJAUD"}, "warning")],
)
def test_events_not_recorded_are_said_and_the_entries_that_arrive_still_judged(values, severity):
    system = JournalSystem()
    system.audit_values.update(values)
    refused(system)
    found = {f.subject: f for f in cycle(system)}
    assert set(found) == {"not-recorded:AF", "object:PAYLIB/PAYROLL:*OUTQ:user:JSMITH"}
    assert found["not-recorded:AF"].severity == severity


def test_audit_values_the_profile_may_not_read_are_cannot_tell_until_entries_arrive():
    system = JournalSystem()
    system.audit_values.update({"QAUDLVL": "*NOTAVL"})
    [unknown] = cycle(system)
    assert unknown.subject == "not-recorded:AF" and unknown.severity == "info"
    refused(system)
    assert {f.subject for f in cycle(system)} == {"object:PAYLIB/PAYROLL:*OUTQ:user:JSMITH"}


def test_auditing_through_qaudlvl2_counts_as_recorded():
    system = JournalSystem()
    system.audit_values.update({"QAUDLVL": "*AUDLVL2", "QAUDLVL2": "*AUTFAIL"})
    assert cycle(system) == []


def test_a_journal_the_profile_may_not_read_is_cannot_see():
    system = JournalSystem()
    system.refused.add("AF")
    [finding] = cycle(system)
    assert finding.subject == "journal-visibility" and "AUDIT_JOURNAL_AF" in finding.title
