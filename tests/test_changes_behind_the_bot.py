"""changes-behind-the-bot: CD entries matched against the bot's own approved runs; the rest reported."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import bot.checks.changes_behind_the_bot as changes_check
from bot.checks.changes_behind_the_bot import (
    CHECK,
    ChangesSettings,
    evaluate_entries,
    normalised,
    scan,
    sensitive_settings,
)
from bot.checks.cycle import PlannedCheck, run_checks
from bot.checks.definition import BotCommand, CheckTarget
from bot.checks.splctl_exposure import SplctlSettings
from bot.ibmi.audit_journal import JournalEntry
from bot.journal_memory import StoredJournal
from storage import open_database
from tests.journal_system import JournalSystem, at

BASE = 1_800_000_000.0  # the epoch of 12:00:00 in these tests


def epoch(timestamp: str) -> float:
    hours, minutes, seconds = (float(part) for part in timestamp[11:].split(":"))
    return BASE + (hours - 12) * 3600 + minutes * 60 + seconds


def cd(at: str, command: str, user: str = "JSMITH", where: str = "N", seq: int = 1, job: str = "1/JSMITH/QPADEV0011"):
    name = command.split()[0].split("/")[-1].upper()
    values = {
        "ENTRY_TYPE": "C",
        "OBJECT_NAME": name,
        "OBJECT_TYPE": "*CMD",
        "WHERE_RUN": where,
        "COMMAND_STRING": command,
    }
    return JournalEntry("CD", f"2026-12-03 {at}.000000", seq, user, job, "QSYS/QCMD", values=values)


def judge(entries: list[JournalEntry], ran: tuple[BotCommand, ...] = (), **options: Any) -> list:
    settings = ChangesSettings(**options)
    matcher = sensitive_settings(CheckTarget("DEMO"), settings).sensitive_matcher()
    return evaluate_entries("DEMO", entries, epoch, ran, settings, matcher)


def test_an_open_relay_typed_on_a_green_screen_is_critical_and_names_user_job_and_where() -> None:
    (finding,) = judge([cd("11:00:00", "CHGSMTPA ALWRLY(*ALL)")])
    assert finding.severity == "critical" and finding.title == "CHGSMTPA run by JSMITH outside the bot"
    assert "interactively, from a command line or menu (WHERE_RUN N)" in finding.details[0]
    assert "1/JSMITH/QPADEV0011" in finding.details[0] and finding.facts["command"] == "CHGSMTPA ALWRLY(*ALL)"


def test_other_watched_commands_are_warnings_and_unwatched_ones_are_ignored() -> None:
    found = judge([cd("11:00:00", "CHGSMTPA ALWRLY(*LIST)"), cd("11:01:00", "WRKACTJOB", seq=2)])
    assert [(f.severity, f.facts["command_name"]) for f in found] == [("warning", "CHGSMTPA")]


def test_the_bots_own_run_within_the_tolerance_is_an_info_line_linking_the_request() -> None:
    ran = (BotCommand("QSYS/CHGSMTPA ALWRLY(*LIST)", epoch("2026-12-03 11:00:00") - 2, "R-7", ("U1", "U2")),)
    (finding,) = judge([cd("11:00:00", "QSYS/CHGSMTPA ALWRLY(*LIST)", "WARDEN", "E")], ran)
    assert finding.severity == "info" and finding.subject == "approved:R-7" and "R-7" in finding.title
    assert judge([cd("11:00:00", "QSYS/CHGSMTPA ALWRLY(*LIST)", "WARDEN", "E")], ran, report_approved=False) == []


def test_outside_the_tolerance_the_same_command_is_behind_the_bots_back() -> None:
    ran = (BotCommand("QSYS/CHGSMTPA ALWRLY(*LIST)", epoch("2026-12-03 11:00:00") - 301, "R-7"),)
    (finding,) = judge([cd("11:00:00", "CHGSMTPA ALWRLY(*LIST)")], ran)
    assert finding.severity == "warning" and finding.subject.startswith("command:")
    (finding,) = judge([cd("11:00:00", "CHGSMTPA ALWRLY(*LIST)")], ran, tolerance=600.0)
    assert finding.subject == "approved:R-7"


def test_one_bot_run_explains_one_entry_of_another_job() -> None:
    ran = (
        BotCommand(
            "QSYS/ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('10.0.0.1') LCLPORT(23) RMTINTNETA('1.2.3.4') RMTPORT(5000)",
            BASE - 3600,
            "R-1",
        ),
    )
    text = "ENDTCPCNN *TCP '10.0.0.1' 23 '1.2.3.4' 5000"
    bot = cd("11:00:00", text, "WARDEN", "E", 1, "2/QUSER/QZDASOINIT")
    twin = cd("11:00:00", text, "WARDEN", "E", 2, "2/QUSER/QZDASOINIT")  # the same job writes it twice
    human = cd("11:00:30", text, "JSMITH", "N", 3)
    found = judge([bot, twin, human], ran)
    assert sorted(f.subject for f in found) == ["approved:R-1", f"command:{human.key}"]


@pytest.mark.parametrize(
    "typed",
    [
        "chgsmtpa alwrly(*list)",
        "  CHGSMTPA   ALWRLY( *LIST )",
        "*LIBL/CHGSMTPA ALWRLY(*LIST)",
        "QSYS/CHGSMTPA ALWRLY(*list)",
    ],
)
def test_normalisation_of_case_blanks_and_qualifier(typed: str) -> None:
    assert normalised(typed) == normalised("QSYS/CHGSMTPA ALWRLY(*LIST)")


def test_normalisation_of_positional_and_keyword_forms() -> None:
    keyword = "ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.2.0') SUBNETMASK('255.255.255.0')"
    assert normalised("addsmtple *accept INTNETADR('10.1.2.0') SUBNETMASK('255.255.255.0')") == normalised(keyword)
    assert normalised("GRTOBJAUT PAYLIB/PAYROLL *OUTQ USER(*PUBLIC) AUT(*ALL)") == normalised(
        "grtobjaut obj(paylib/payroll)  objtype(*outq) user(*public) aut(*all)"
    )
    assert normalised("CHGSMTPA ALWRLY(*LIST)") != normalised("CHGSMTPA ALWRLY(*ALL)")
    assert normalised("MYLIB/CHGSMTPA ALWRLY(*ALL)") != normalised("CHGSMTPA ALWRLY(*ALL)")
    assert normalised("CHGOUTQ A TEXT('x')") != normalised("CHGOUTQ A TEXT('X')")  # quoted text keeps its case


def test_scanning_never_runs_anything_and_reads_nested_values() -> None:
    scanned = scan("GRTOBJAUT OBJ(PAYLIB/PAYROLL) OBJTYPE(*OUTQ) USER(A B) AUT(*USE) TEXT('a (b) ''c''')")
    assert scanned is not None and scanned.value("USER") == "A B" and scanned.value("OBJTYPE") == "*OUTQ"
    assert scan("") is None and scan("'quoted'") is None


def test_sensitive_output_queue_changes_are_reported_others_not() -> None:
    found = judge(
        [
            cd("11:00:00", "CHGOUTQ OUTQ(PAYLIB/PAYROLL) DSPDTA(*YES)", seq=1),
            cd("11:01:00", "GRTOBJAUT OBJ(HRLIB/HRQ) OBJTYPE(*OUTQ) USER(*PUBLIC) AUT(*ALL)", seq=2),
            cd("11:02:00", "GRTOBJAUT OBJ(PAYLIB/PAYFILE) OBJTYPE(*FILE) USER(*PUBLIC) AUT(*ALL)", seq=3),
            cd("11:03:00", "CHGOUTQ OUTQ(QGPL/QPRINT) DSPDTA(*YES)", seq=4),
            cd("11:04:00", "RVKOBJAUT PAYLIB/PAYROLL *OUTQ USER(JSMITH) AUT(*ALL)", seq=5),
        ]
    )
    assert [(f.facts["queue"], f.facts["sensitive_pattern"]) for f in found] == [
        ("PAYLIB/PAYROLL", "PAY*"),
        ("HRLIB/HRQ", "HR*"),
        ("PAYLIB/PAYROLL", "PAY*"),
    ]
    assert (
        judge([cd("11:03:00", "CHGOUTQ OUTQ(QGPL/QPRINT)")], sensitive_queues=["QPRINT"])[0].facts["queue"]
        == "QGPL/QPRINT"
    )


def test_a_queue_command_whose_queue_cannot_be_read_is_reported() -> None:
    (finding,) = judge([cd("11:00:00", "CHGOUTQ DSPDTA(*YES)")])
    assert "could not be read" in " ".join(finding.details)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"commands": ["CHG SMTPA"]}, "commands"),
        ({"commands": "CHGSMTPA"}, "commands"),
        ({"outq_commands": [1]}, "outq_commands"),
        ({"tolerance": 0}, "tolerance"),
        ({"tolerance": 3601}, "tolerance"),
        ({"sensitive_queues": ["  "]}, "sensitive_queues"),
        ({"max_entries": 0}, "max_entries"),
        ({"report_approved": 1}, "report_approved"),
    ],
)
def test_bad_settings_name_the_key(options: dict, key: str) -> None:
    with pytest.raises(ValueError) as caught:
        ChangesSettings(**options)
    assert str(caught.value).startswith(f"{key}: ")


def test_through_a_cycle_the_bots_commands_and_splctl_patterns_come_from_the_target() -> None:
    connection = JournalSystem()
    (quiet,) = run_checks(connection, CheckTarget("DEMO"), [PlannedCheck(CHECK, ChangesSettings())])
    [unknown] = quiet.findings
    assert unknown.subject == "not-recorded:CD" and unknown.severity == "info"  # no system value tells
    for minutes, command, user in ((-1, "CHGSMTPA ALWRLY(*ALL)", "JSMITH"), (-0.5, "CHGOUTQ OUTQ(FIN/CHEQUES)", "BOB")):
        connection.add(
            "CD",
            at(minutes),
            USER_NAME=user,
            JOB_NAME="QPADEV0011",
            ENTRY_TYPE="C",
            OBJECT_LIBRARY="QSYS",
            OBJECT_NAME=command.split()[0],
            OBJECT_TYPE="*CMD",
            WHERE_RUN="N",
            COMMAND_STRING=command,
        )
    planned = [PlannedCheck(CHECK, ChangesSettings())]
    target = CheckTarget("DEMO", settings_of={"splctl-exposure": SplctlSettings(sensitive_queues=("FIN/*",))})
    (outcome,) = run_checks(connection, target, planned)
    assert outcome.error is None
    found = {f.subject: f for f in outcome.findings}
    assert "not-recorded:CD" not in found  # system values cannot tell, the entries read do
    assert {f.facts.get("command_name") for f in found.values()} == {"CHGSMTPA", "CHGOUTQ"}
    # The bot ran the CHGSMTPA by approval a minute ago (the journal's times are told by the bot's clock).
    ran = (BotCommand("QSYS/CHGSMTPA ALWRLY(*ALL)", time.time() - 60, "R-9", ("U1",)),)
    (outcome,) = run_checks(connection, CheckTarget("DEMO", bot_commands=ran), planned)
    assert "approved:R-9" in {f.subject for f in outcome.findings}
    assert not any(f.facts.get("command_name") == "CHGSMTPA" for f in outcome.findings)


def test_kept_entries_are_judged_once_and_a_later_approval_still_changes_the_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judged: list[str] = []
    judge_entry = changes_check.judged_with_finding

    def counting(system: str, entry: JournalEntry, *rest: Any) -> Any:
        judged.append(entry.key)
        return judge_entry(system, entry, *rest)

    monkeypatch.setattr(changes_check, "judged_with_finding", counting)
    connection = JournalSystem()
    storage = open_database(tmp_path / "warden.db", "test")
    try:
        memory = StoredJournal(storage, "MEMO", clock=time.time)
        planned = [PlannedCheck(CHECK, ChangesSettings())]

        def subjects(target: CheckTarget) -> set[str]:
            (outcome,) = run_checks(connection, target, planned, journal=memory)
            return {f.subject for f in outcome.findings}

        for minutes in (-3, -2):
            connection.add("CD", at(minutes), USER_NAME="JSMITH", JOB_NAME="QPADEV0011", OBJECT_NAME="CHGSMTPA",
                           COMMAND_STRING="CHGSMTPA ALWRLY(*ALL)")  # fmt: skip
        first = subjects(CheckTarget("MEMO"))
        assert len([s for s in first if s.startswith("command:")]) == 2 and len(judged) == 2
        assert subjects(CheckTarget("MEMO")) == first and len(judged) == 2  # nothing new: nothing judged again
        connection.add("CD", at(-1), USER_NAME="BOB", JOB_NAME="QPADEV0012", OBJECT_NAME="ADDSMTPLE",
                       COMMAND_STRING="ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.1')")  # fmt: skip
        third = subjects(CheckTarget("MEMO"))
        assert len(judged) == 3 and len(third - first) == 1  # only the new entry judged
        ran = (BotCommand("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.1')", time.time() - 60, "R-7", ("U1",)),)
        assert subjects(CheckTarget("MEMO", bot_commands=ran)) == first | {"approved:R-7"}
        assert len(judged) == 3
    finally:
        storage.close()


def test_the_journal_keeps_only_the_commands_that_may_be_watched(tmp_path: Path) -> None:
    from storage import journal as store

    connection = JournalSystem()
    for minutes, command in ((-3, "WRKACTJOB"), (-2, "CHGSMTPA ALWRLY(*NONE)"), (-1, "DSPLOG")):
        name = command.split()[0]
        connection.add("CD", at(minutes), USER_NAME="JSMITH", OBJECT_NAME=name, COMMAND_STRING=command)
    connection.add("CD", at(-0.5), USER_NAME="JSMITH", COMMAND_STRING="RMVSMTPLE TYPE(*ACCEPT)")  # no object named
    storage = open_database(tmp_path / "warden.db", "test")
    try:
        memory = StoredJournal(storage, "KEEP", clock=time.time)
        (outcome,) = run_checks(
            connection, CheckTarget("KEEP"), [PlannedCheck(CHECK, ChangesSettings())], journal=memory
        )
        assert {f.facts.get("command_name") for f in outcome.findings} >= {"CHGSMTPA", "RMVSMTPLE"}
        kept = store.entries_since(storage, "KEEP", "CD", at(-60))
        assert [entry.data["values"]["COMMAND_STRING"] for entry in kept] == [
            "CHGSMTPA ALWRLY(*NONE)",
            "RMVSMTPLE TYPE(*ACCEPT)",
        ]
    finally:
        storage.close()
