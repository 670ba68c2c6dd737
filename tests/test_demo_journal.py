"""The demo IBM i's audit journal, read through the product's own reader (bot.ibmi.audit_journal)."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ibmi import audit_journal, sql
from bot.ibmi.audit_journal import ENTRY_TYPES, JournalEntry, read_entries, read_system_time
from bot.ibmi.cl import ChangeSmtpRelay, EndTcpConnection
from bot.ibmi.drivers.demo import journal
from bot.ibmi.drivers.demo.connection import DemoConnection
from bot.ibmi.drivers.demo.store import ensure_demo_system, open_libraries
from bot.ibmi.errors import CLCommandError, IbmiError, NotAuthorizedError, ServiceMissingError
from bot.ibmi_settings import open_system
from tests.conftest import demo_settings
from tests.large_demo import fill_journal
from tests.test_service_missing import older_demo_without

EARLY = "2000-01-01 00:00:00.000000"


def everything(connection, entry_type: str, since: str = EARLY) -> list[JournalEntry]:
    return read_entries(connection, entry_type, since, audit_journal.MAX_BATCH)


def with_demo(settings, **changes):
    assert settings.demo is not None
    return dataclasses.replace(settings, demo=dataclasses.replace(settings.demo, **changes))


def test_the_failed_sign_ons_come_from_the_telnet_peer_and_try_several_profiles(demo_connection):
    entries = everything(demo_connection, "PW")
    burst = [e for e in entries if e.remote_address == "210.107.73.73"]
    assert len(burst) == len(entries) >= 10
    officer = [e for e in burst if e.text("AUDIT_USER_NAME") == "QSECOFR"]
    assert len(officer) >= 8 and {e.text("VIOLATION_TYPE") for e in officer} == {"P"}
    assert {e.text("AUDIT_USER_NAME") for e in burst} >= {"QSECOFR", "QSYSOPR", "ADMIN", "OLDADMIN", "ROOT"}
    assert {e.text("DEVICE_NAME") for e in burst} == {"QPADEV0011"}
    assert {e.text("VIOLATION_TYPE") for e in burst} == {"P", "U", "Q"}
    assert all(e.text("VIOLATION_TYPE_DETAIL") for e in burst) and all(e.remote_port for e in burst)


def test_splctl_is_granted_to_jsmith_by_qsecofr_after_a_change_without_it(demo_connection):
    changes = [e for e in everything(demo_connection, "CP") if e.text("USER_PROFILE") == "JSMITH"]
    assert [e.text("SPLCTL") for e in changes] == ["N", "Y"]
    before, grant = changes
    assert before.timestamp < grant.timestamp and before.sequence < grant.sequence
    assert {e.user for e in changes} == {"QSECOFR"} and {e.text("COMMAND_TYPE") for e in changes} == {"CHG"}
    flags = ("ALLOBJ", "JOBCTL", "SAVSYS", "SECADM", "SERVICE", "AUDIT", "IOSYSCFG")
    assert all(e.text(flag) == "N" for e in changes for flag in flags)  # JSMITH holds none of them itself
    # from the security officer's telnet session: the same job NETSTAT_JOB_INFO names for 210.107.73.73
    jobs = {j.job_name for j in sql.read_connection_jobs(demo_connection) if j.remote_address == "210.107.73.73"}
    assert grant.job in jobs and grant.remote_address == "210.107.73.73"


def test_chgsmtpa_was_typed_on_a_green_screen_by_qsecofr(demo_connection):
    commands = [e for e in everything(demo_connection, "CD") if e.text("OBJECT_NAME") == "CHGSMTPA"]
    assert len(commands) == 1
    entry = commands[0]
    assert entry.user == "QSECOFR" and entry.job is not None and entry.job.endswith("/QSECOFR/QPADEV0011")
    assert (entry.text("ENTRY_TYPE"), entry.text("WHERE_RUN")) == ("C", "N")
    assert (entry.text("OBJECT_LIBRARY"), entry.text("OBJECT_TYPE")) == ("QSYS", "*CMD")
    assert entry.text("COMMAND_STRING") == "CHGSMTPA ALWRLY(*ALL)"


def test_a_non_payroll_user_is_refused_the_payroll_output_queue(demo_connection):
    (failure,) = everything(demo_connection, "AF")
    assert (failure.text("OBJECT_LIBRARY"), failure.text("OBJECT_NAME"), failure.text("OBJECT_TYPE")) == (
        "PAYLIB",
        "PAYROLL",
        "*OUTQ",
    )
    assert failure.text("VIOLATION_TYPE") == "A" and failure.user == "APIUSER"
    assert failure.remote_address == "13.64.12.40" and failure.job is not None


def test_the_story_falls_in_the_minutes_before_the_demo_is_first_read(demo_connection):
    now = read_system_time(demo_connection)
    entries = [e for kind in ENTRY_TYPES for e in everything(demo_connection, kind)]
    earliest = datetime.fromisoformat(now) - timedelta(minutes=5)
    assert all(earliest.isoformat(sep=" ") <= e.timestamp <= now for e in entries)
    in_journal_order = sorted(entries, key=lambda e: e.sequence or 0)
    assert [e.timestamp for e in in_journal_order] == sorted(e.timestamp for e in entries)
    assert len({e.sequence for e in entries}) == len(entries)  # one sequence for the whole journal


def test_the_demo_clock_is_utc(demo_connection):
    clock = datetime.fromisoformat(read_system_time(demo_connection))
    utc = datetime.fromtimestamp(time.time(), UTC).replace(tzinfo=None)
    assert abs((utc - clock).total_seconds()) < 60


def test_reading_from_a_position_returns_only_later_entries_and_at_most_n(demo_connection):
    entries = everything(demo_connection, "PW")
    middle = entries[5].timestamp
    later = read_entries(demo_connection, "PW", middle, 1000)
    assert later == entries[5:]
    assert read_entries(demo_connection, "PW", middle, 3) == entries[5:8]
    last = (datetime.fromisoformat(entries[-1].timestamp) + timedelta(microseconds=1)).isoformat(sep=" ")
    assert read_entries(demo_connection, "PW", last, 10) == []


def test_the_demo_reads_the_journal_by_key(demo_system):
    ensure_demo_system(demo_system.demo.path)
    db = open_libraries(demo_system.demo.path)
    try:
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + _entries_sql("PW"), (EARLY, EARLY, 10)))
    finally:
        db.close()
    assert "USING INTEGER PRIMARY KEY" in plan and "INDEX AUDIT_JOURNAL_PW_BY_TIME" in plan and "SCAN" not in plan


def _entries_sql(entry_type: str) -> str:
    """The statement the demo runs for an entries read, as journal.read_entries builds it."""
    captured: list[str] = []

    class Recorder:
        def execute(self, statement, params):
            captured.append(statement)

    journal.read_entries(Recorder(), entry_type, 10, (EARLY,))  # type: ignore[arg-type]
    return captured[0]


@pytest.mark.parametrize("entry_type", ENTRY_TYPES)
@pytest.mark.parametrize("limit", [1, 7, audit_journal.MAX_BATCH])
def test_the_demo_interprets_every_entries_statement_the_product_builds(entry_type, limit):
    statement = " ".join(audit_journal.entries_statement(entry_type, limit).split()).upper()
    match = journal.ENTRIES.match(statement)
    assert match and match["type"] == entry_type and int(match["limit"]) == limit


def test_a_starting_timestamp_that_is_not_one_is_refused_as_db2_does(demo_connection):
    with pytest.raises(IbmiError, match="SQL0180"):
        read_entries(demo_connection, "PW", "yesterday", 5)


def test_audit_values_are_read_and_not_available_without_allobj_and_audit(tmp_path):
    settings = demo_settings(tmp_path / "demo-ibmi")
    connection = open_system(settings)
    try:
        values = audit_journal.read_audit_values(connection)
    finally:
        connection.close()
    assert values["QAUDCTL"] == ("*AUDLVL", "*OBJAUD")
    assert {"*AUTFAIL", "*SECURITY", "*SECCFG"} <= set(values["QAUDLVL"] or ())
    assert values["QAUDLVL2"] == ("*NONE",)
    for missing, readable in ((("*AUDIT",), True), (("*ALLOBJ",), True), (("*ALLOBJ", "*AUDIT"), False)):
        connection = open_system(with_demo(settings, missing_authorities=missing))
        try:
            seen = audit_journal.read_audit_values(connection)
            if readable:
                assert seen == values
                assert everything(connection, "AF")
            else:
                assert seen == {"QAUDCTL": None, "QAUDLVL": None, "QAUDLVL2": None}
                with pytest.raises(NotAuthorizedError, match=r"SQL0551\] Not authorized to object QAUDJRN"):
                    everything(connection, "AF")
        finally:
            connection.close()


def test_the_attached_receiver_and_a_receiver_that_is_gone(demo_connection):
    assert audit_journal.check_receiver(demo_connection, None).attached == "QSYS/QAUDRCV0042"
    assert not audit_journal.check_receiver(demo_connection, "QSYS/QAUDRCV0041").previous_gone
    assert audit_journal.check_receiver(demo_connection, "QSYS/QAUDRCV0007").previous_gone


def test_a_system_without_the_function_answers_sql0204(tmp_path, monkeypatch):
    older_demo_without(tmp_path, monkeypatch, "SYSTOOLS", "AUDIT_JOURNAL_CP")
    connection = open_system(demo_settings(tmp_path / "demo-ibmi"))
    try:
        with pytest.raises(ServiceMissingError, match=r"SQL0204\] AUDIT_JOURNAL_CP in SYSTOOLS"):
            everything(connection, "CP")
        assert everything(connection, "PW")  # the other functions are still there
    finally:
        connection.close()


def test_a_command_the_bot_runs_leaves_a_cd_entry_for_its_profile(demo_connection):
    before = everything(demo_connection, "CD")
    demo_connection.run_cl(ChangeSmtpRelay.build("*NONE"))
    new = everything(demo_connection, "CD")[len(before) :]
    assert len(new) == 1
    entry = new[0]
    assert entry.user == "WARDEN" and entry.text("WHERE_RUN") == "E" and entry.text("ENTRY_TYPE") == "C"
    assert entry.text("COMMAND_STRING") == "QSYS/CHGSMTPA ALWRLY(*NONE)"
    assert (entry.text("OBJECT_LIBRARY"), entry.text("OBJECT_NAME"), entry.text("OBJECT_TYPE")) == (
        "QSYS",
        "CHGSMTPA",
        "*CMD",
    )
    assert entry.timestamp >= before[-1].timestamp and entry.sequence > max(e.sequence or 0 for e in before)


def test_a_command_that_fails_while_it_runs_is_journaled_and_one_refused_before_is_not(demo_system):
    folder = demo_system.demo.path
    ensure_demo_system(folder)
    refused = DemoConnection(folder, excluded_commands=["CHGSMTPA"])
    try:
        with pytest.raises(Exception, match="CPF0006"):
            refused.cursor().execute(sql.RUN_CL_COMMAND, (ChangeSmtpRelay.build("*NONE").to_cl(),))
    finally:
        refused.close()
    connection = open_system(demo_system)
    try:
        gone = EndTcpConnection.build("10.1.1.5", 23, "10.9.9.9", 4000)
        with pytest.raises(CLCommandError):
            connection.run_cl(gone)
        commands = [e.text("COMMAND_STRING") for e in everything(connection, "CD") if e.user == "WARDEN"]
    finally:
        connection.close()
    assert commands == [gone.to_cl()]


def _traffic(folder: Path, monkeypatch: pytest.MonkeyPatch, steps: int, seed: int = 1) -> list[JournalEntry]:
    settings = with_demo(demo_settings(folder), traffic=True, traffic_interval=10, seed=seed)
    connection = open_system(settings)
    try:
        story = {kind: len(everything(connection, kind)) for kind in ENTRY_TYPES}
        real_time = time.time
        monkeypatch.setattr(time, "time", lambda: real_time() + 10 * steps + 1)
        added = [e for kind in ENTRY_TYPES for e in everything(connection, kind)[story[kind] :]]
        monkeypatch.setattr(time, "time", real_time)
    finally:
        connection.close()
    return sorted(added, key=lambda e: e.sequence or 0)


def _what(entries: list[JournalEntry]) -> list[tuple]:
    return [(e.entry_type, e.user, e.remote_address, tuple(sorted(e.values.items()))) for e in entries]


def test_traffic_adds_entries_over_time_the_same_for_the_same_seed(tmp_path, monkeypatch):
    first = _traffic(tmp_path / "a", monkeypatch, 40)
    again = _traffic(tmp_path / "b", monkeypatch, 40)
    other = _traffic(tmp_path / "c", monkeypatch, 40, seed=2)
    assert first and _what(first) == _what(again) and _what(first) != _what(other)
    kinds = {e.entry_type for e in first}
    assert "PW" in kinds and len(kinds) >= 3
    assert [e.timestamp for e in first] == sorted(e.timestamp for e in first)
    assert not _traffic(tmp_path / "d", monkeypatch, 0)  # nothing before the first step is due


def test_traffic_entries_come_after_the_story_and_keep_journal_order(tmp_path, monkeypatch):
    added = _traffic(tmp_path / "demo", monkeypatch, 30)
    db = sqlite3.connect(tmp_path / "demo" / "SYSTOOLS.sqlite")
    try:
        rows = sorted(
            row
            for kind in ENTRY_TYPES
            for row in db.execute(f"SELECT SEQUENCE_NUMBER, ENTRY_TIMESTAMP FROM AUDIT_JOURNAL_{kind}")
        )
    finally:
        db.close()
    assert [timestamp for _, timestamp in rows] == sorted(timestamp for _, timestamp in rows)
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1)) and added


def test_the_filler_writes_entries_before_the_story_in_journal_order(tmp_path):
    folder = tmp_path / "demo-ibmi"
    ensure_demo_system(folder)
    connection = open_system(demo_settings(folder))
    try:
        story = {kind: everything(connection, kind) for kind in ENTRY_TYPES}
        fill_journal(folder, 20_000, span=86_400.0)
        filled = {kind: everything(connection, kind) for kind in ENTRY_TYPES}
    finally:
        connection.close()
    assert sum(len(entries) for entries in filled.values()) == 20_000 + sum(len(s) for s in story.values())
    for kind in ENTRY_TYPES:
        assert [e.values for e in filled[kind][-len(story[kind]) :]] == [e.values for e in story[kind]]
        assert [e.sequence for e in filled[kind]] == sorted(e.sequence or 0 for e in filled[kind])
        assert [e.timestamp for e in filled[kind]] == sorted(e.timestamp for e in filled[kind])
    failed = filled["PW"]
    addresses = Counter(e.remote_address for e in failed)
    assert len(addresses) > 200 and addresses.most_common(1)[0][1] >= 20  # many addresses, and a burst
    assert len({e.text("AUDIT_USER_NAME") for e in failed}) > 100
    day = datetime.fromisoformat(failed[-1].timestamp) - datetime.fromisoformat(failed[0].timestamp)
    assert timedelta(hours=20) < day < timedelta(hours=25)


def test_the_filled_journal_is_read_in_bounded_batches_from_each_position(tmp_path):
    folder = tmp_path / "demo-ibmi"
    fill_journal(folder, 5_000, span=3_600.0)
    connection = open_system(demo_settings(folder))
    try:
        whole = everything(connection, "PW")
        since, seen = EARLY, []
        while batch := [
            e for e in read_entries(connection, "PW", since, 700) if e.key not in {s.key for s in seen[-700:]}
        ]:
            seen += batch
            since = batch[-1].timestamp
    finally:
        connection.close()
    assert [e.key for e in seen] == [e.key for e in whole]
