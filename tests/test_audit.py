"""The audit log: the hash chain, what tampering `verify` names, the CSV export, and `ibmi-warden audit`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import __version__
from storage import audit, audit_verify, open_database
from storage.audit import GENESIS
from tests.test_cli import CLEAN_ENV, warden, write_config

T0 = datetime(2026, 11, 28, 0, 12, 3, tzinfo=UTC).timestamp()


@pytest.fixture
def storage(tmp_path):
    storage = open_database(tmp_path / "warden.db", __version__)
    yield storage
    storage.close()


def add(storage, n: int, **overrides) -> list[audit.AuditEvent]:
    events = []
    for i in range(n):
        fields = {
            "actor": f"U0{i % 3}APPROVER",
            "action": ("request", "approve", "execute")[i % 3],
            "system": "PROD",
            "subject": f"R{i:04d}",
            "outcome": "ok",
            "details": {"command": f"ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA(*N) LCLPORT({i})"},
            "at": T0 + i,
        }
        events.append(audit.append(storage, **{**fields, **overrides}))
    return events


def attacker(storage, *statements: tuple[str, list]) -> None:
    """Someone with the file in hand: drops every trigger, runs SQL, puts the triggers back."""
    conn = sqlite3.connect(storage.path)
    try:
        triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _ in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        for sql, params in statements:
            conn.execute(sql, params)
        for _, sql in triggers:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def raw_row(storage, row_id: int) -> list:
    with storage.lock:
        return list(
            storage.db.execute(f"SELECT {', '.join(audit.CSV_COLUMNS)} FROM audit WHERE id = ?", [row_id]).fetchone()
        )


def insert_sql(values: list) -> tuple[str, list]:
    return f"INSERT INTO audit ({', '.join(audit.CSV_COLUMNS)}) VALUES ({', '.join('?' * 10)})", values


# --- the chain ---------------------------------------------------------------------------


def test_append_and_recent_round_trip(storage):
    first = audit.append(
        storage,
        actor="U01OPERATOR",
        action="request",
        system="PROD",
        subject="R3f2a9",
        outcome="ok",
        details={"reason": "vendor test", "command": "ENDTCPCNN …"},
        at=T0,
    )
    second = audit.append(storage, actor="U02APPROVER", action="approve", subject="R3f2a9", outcome="ok", at=T0 + 5)
    assert first.id == 1 and second.id == 2
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert second.system is None and second.details == {}

    newest_first = audit.recent(storage)
    assert newest_first == [second, first]
    assert newest_first[1].details == {"reason": "vendor test", "command": "ENDTCPCNN …"}
    assert newest_first[1].at == T0 and newest_first[1].at_text == "2026-11-28T00:12:03.000000Z"
    assert audit.recent(storage, limit=1) == [second]
    assert audit.recent(storage, limit=0) == []


def test_the_hash_is_the_documented_canonical_form(storage):
    event = audit.append(
        storage,
        actor="U01OPERATOR",
        action="trust",
        system="PROD",
        subject="198.51.100.0/24",
        outcome="ok",
        details={"z": 1, "a": [1, "é"]},
        at=T0,
    )
    details_json = '{"a":[1,"\\u00e9"],"z":1}'
    assert raw_row(storage, 1)[7] == details_json
    canonical = json.dumps(
        [1, T0, "U01OPERATOR", "trust", "PROD", "198.51.100.0/24", "ok", details_json, GENESIS],
        sort_keys=True,
        separators=(",", ":"),
    )
    assert event.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_an_integer_time_hashes_the_same_as_it_reads_back(storage):
    audit.append(storage, actor="bot", action="expire", subject="R1", outcome="ok", at=int(T0))
    assert audit.recent(storage)[0].at == T0
    assert audit_verify.verify(storage).ok


def test_an_empty_log_and_a_chain_of_50_verify(storage):
    assert audit_verify.verify(storage) == audit_verify.AuditVerification(True, 0, None, None, GENESIS)
    events = add(storage, 50)
    result = audit_verify.verify(storage)
    assert result == audit_verify.AuditVerification(True, 50, None, None, events[-1].hash)


def test_a_long_chain_is_walked_in_chunks(storage, monkeypatch):
    monkeypatch.setattr(audit, "_CHUNK", 7)
    add(storage, 50)
    assert audit_verify.verify(storage).ok
    assert audit.export_csv(storage, io.StringIO()) == 50
    attacker(
        storage,
        ("UPDATE audit SET outcome = 'ok' WHERE id = 44", []),
        ("UPDATE audit SET subject = 'R9999' WHERE id = 44", []),
    )
    assert audit_verify.verify(storage).first_bad_id == 44


def test_an_event_written_in_the_callers_transaction_rolls_back_with_it(storage):
    add(storage, 3)
    with pytest.raises(RuntimeError), storage.transaction():
        audit.append(storage, actor="U02APPROVER", action="approve", subject="R1", outcome="ok", at=T0)
        raise RuntimeError("the change it records failed")
    with storage.transaction():
        event = audit.append(storage, actor="U02APPROVER", action="approve", subject="R1", outcome="ok", at=T0)
    assert event.id == 4
    assert audit_verify.verify(storage).ok


def test_concurrent_appends_from_8_threads_keep_the_chain_valid(storage):
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                audit.append(
                    storage, actor=f"U{n}", action="silence", subject=f"203.0.113.{i}", outcome="ok", at=T0 + i
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    result = audit_verify.verify(storage)
    assert result.ok and result.rows == 200


# --- what append refuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"password": "x"},
        {"user": "QSECOFR", "Signing-Secret": "x"},
        {"request": {"bot_token": "x"}},
        {"steps": [{"ok": True}, {"PWD": "x"}]},
        {"note": "xoxb-1234567890-abcdefghij"},
    ],
)
def test_secrets_are_refused(storage, details):
    with pytest.raises(ValueError, match="secret|Slack token"):
        audit.append(storage, actor="U01", action="request", subject="R1", outcome="ok", details=details, at=T0)
    assert audit.recent(storage) == []


@pytest.mark.parametrize(
    "change",
    [
        {"details": {"when": datetime.now(UTC)}},
        {"details": {"ratio": float("nan")}},
        {"details": ["not", "a", "dict"]},
        {"actor": ""},
        {"action": "  "},
        {"outcome": ""},
        {"at": float("inf")},
        {"at": -1.0},
        {"at": True},
        {"outcome": "refused: token xoxp-1234567890-abcdef pasted in the reason"},
    ],
)
def test_bad_events_are_refused(storage, change):
    fields = {"actor": "U01", "action": "request", "subject": "R1", "outcome": "ok", "at": T0, **change}
    with pytest.raises(ValueError):
        audit.append(storage, **fields)
    assert audit_verify.verify(storage).rows == 0


# --- the triggers and tampering ----------------------------------------------------------


@pytest.mark.parametrize(
    "sql", ["UPDATE audit SET outcome = 'ok' WHERE id = 2", "DELETE FROM audit WHERE id = 2", "DELETE FROM audit"]
)
def test_the_triggers_refuse_update_and_delete(storage, sql):
    add(storage, 3)
    conn = sqlite3.connect(storage.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), storage.transaction() as db:
        db.execute(sql)
    assert audit_verify.verify(storage).ok and audit_verify.verify(storage).rows == 3


def test_an_edited_row_is_named(storage):
    add(storage, 50)
    attacker(storage, ("UPDATE audit SET outcome = 'refused: wrong role' WHERE id = 17", []))
    result = audit_verify.verify(storage)
    assert not result.ok and result.first_bad_id == 17 and result.rows == 50
    assert "row 17 was edited" in result.problem


def test_an_edited_row_with_its_hash_recomputed_is_caught_at_the_next_row(storage):
    add(storage, 50)
    row = raw_row(storage, 17)
    row[2] = "U09SOMEONEELSE"
    new_hash = audit.row_hash(*row[:9])
    attacker(storage, ("UPDATE audit SET actor = ?, hash = ? WHERE id = 17", [row[2], new_hash]))
    result = audit_verify.verify(storage)
    assert result.first_bad_id == 18 and "row 17 rewritten" in result.problem


def test_a_row_inserted_in_the_middle_with_a_made_up_hash_is_named(storage):
    add(storage, 50)
    shift = [("UPDATE audit SET id = -id WHERE id >= 20", []), ("UPDATE audit SET id = 1 - id WHERE id < 0", [])]
    forged = [20, T0 + 19.5, "U02APPROVER", "approve", "PROD", "R0019", "ok", "{}", raw_row(storage, 19)[9], "f" * 64]
    attacker(storage, *shift, insert_sql(forged))
    assert [row[0] for row in (raw_row(storage, 20), raw_row(storage, 51))] == [20, 51]
    result = audit_verify.verify(storage)
    assert result.first_bad_id == 20 and "row 20" in result.problem


def test_a_row_inserted_in_the_middle_with_a_correct_hash_is_named(storage):
    add(storage, 50)
    shift = [("UPDATE audit SET id = -id WHERE id >= 20", []), ("UPDATE audit SET id = 1 - id WHERE id < 0", [])]
    forged = [20, T0 + 19.5, "U02APPROVER", "approve", "PROD", "R0019", "ok", "{}", raw_row(storage, 19)[9]]
    attacker(storage, *shift, insert_sql([*forged, audit.row_hash(*forged)]))
    result = audit_verify.verify(storage)
    assert result.first_bad_id == 20 and "row 20 was inserted" in result.problem


def test_a_forged_row_linked_to_nothing_is_named(storage):
    add(storage, 10)
    attacker(storage, ("DELETE FROM audit WHERE id = 6", []))
    forged = [6, T0 + 5, "U02APPROVER", "approve", "PROD", "R0005", "ok", "{}", "a" * 64]
    attacker(storage, insert_sql([*forged, audit.row_hash(*forged)]))
    result = audit_verify.verify(storage)
    assert result.first_bad_id == 6 and "does not link to row 5" in result.problem


def test_a_deleted_middle_row_is_named(storage):
    add(storage, 50)
    attacker(storage, ("DELETE FROM audit WHERE id = 23", []))
    result = audit_verify.verify(storage)
    assert result.first_bad_id == 24 and result.rows == 49
    assert "row 23 is missing" in result.problem


def test_deleted_first_rows_are_named(storage):
    add(storage, 10)
    attacker(storage, ("DELETE FROM audit WHERE id <= 3", []))
    result = audit_verify.verify(storage)
    assert result.first_bad_id == 4 and "rows 1–3 are missing" in result.problem


def test_a_deleted_last_row_is_detected(storage):
    add(storage, 50)
    attacker(storage, ("DELETE FROM audit WHERE id = 50", []))
    result = audit_verify.verify(storage)
    assert not result.ok and result.first_bad_id == 50 and result.rows == 49
    assert "row 50 is missing" in result.problem


def test_deleting_every_row_is_detected(storage):
    add(storage, 5)
    attacker(storage, ("DELETE FROM audit", []))
    result = audit_verify.verify(storage)
    assert not result.ok and result.first_bad_id == 1 and "rows 1–5 are missing" in result.problem


def test_a_rewritten_head_is_detected(storage):
    add(storage, 50)
    attacker(storage, ("UPDATE audit_head SET hash = ?", ["e" * 64]))
    result = audit_verify.verify(storage)
    assert not result.ok and result.first_bad_id is None and "head was rewritten" in result.problem


def test_a_deleted_head_is_detected(storage):
    add(storage, 5)
    attacker(storage, ("DELETE FROM audit_head", []))
    result = audit_verify.verify(storage)
    assert not result.ok and "head is missing" in result.problem


def test_rows_added_without_the_head_are_named(storage):
    events = add(storage, 50)
    forged = [51, T0 + 60, "U02APPROVER", "approve", "PROD", "R9999", "ok", "{}", events[-1].hash]
    attacker(storage, insert_sql([*forged, audit.row_hash(*forged)]))
    result = audit_verify.verify(storage)
    assert result.first_bad_id == 51 and "without the head" in result.problem


def test_appending_after_tampering_does_not_hide_it(storage):
    add(storage, 10)
    attacker(storage, ("DELETE FROM audit WHERE id = 10", []))
    audit.append(storage, actor="bot", action="expire", subject="R1", outcome="ok", at=T0 + 100)
    result = audit_verify.verify(storage)
    assert not result.ok and result.first_bad_id == 10

    attacker(storage, ("DELETE FROM audit_head", []))
    audit.append(storage, actor="bot", action="expire", subject="R2", outcome="ok", at=T0 + 101)
    assert not audit_verify.verify(storage).ok


# --- CSV ---------------------------------------------------------------------------------


def test_export_csv_writes_a_header_and_every_row_oldest_first(storage):
    events = add(storage, 3)
    events.append(
        audit.append(
            storage,
            actor="U01",
            action="refused",
            subject='R1, "quoted"\nsecond line',
            outcome="refused: self-approval",
            at=T0 + 10,
        )
    )
    out = io.StringIO()
    assert audit.export_csv(storage, out) == 4
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(audit.CSV_COLUMNS)
    assert [int(row[0]) for row in rows[1:]] == [1, 2, 3, 4]
    assert rows[1][1] == "2026-11-28T00:12:03.000000Z"
    assert rows[4][4] == "" and rows[4][5] == 'R1, "quoted"\nsecond line'
    assert [row[9] for row in rows[1:]] == [event.hash for event in events]
    assert json.loads(rows[1][7]) == events[0].details


def test_export_csv_of_an_empty_log_is_the_header(storage):
    out = io.StringIO()
    assert audit.export_csv(storage, out) == 0
    assert out.getvalue().strip() == ",".join(audit.CSV_COLUMNS)


# --- ibmi-warden audit -------------------------------------------------------------------


@pytest.fixture
def logged(tmp_path) -> Path:
    """A configuration whose database holds five audit events."""
    config = write_config(tmp_path)
    storage = open_database(tmp_path / "warden-demo.db", __version__)
    try:
        audit.append(
            storage,
            actor="U01OPERATOR",
            action="request",
            system="DEMO",
            subject="R3f2a9",
            outcome="ok",
            details={"command": "ENDTCPCNN"},
            at=T0,
        )
        audit.append(
            storage, actor="U02APPROVER", action="approve", system="DEMO", subject="R3f2a9", outcome="ok", at=T0 + 60
        )
        audit.append(
            storage,
            actor="bot",
            action="execute",
            system="DEMO",
            subject="R3f2a9",
            outcome="CPF9801: Object not found.",
            at=T0 + 61,
        )
        audit.append(
            storage,
            actor="U01OPERATOR",
            action="refused",
            subject="R3f2a9",
            outcome="refused: approving one's own request",
            at=T0 + 62,
        )
        audit.append(
            storage, actor="U01OPERATOR", action="silence", subject="203.0.113.7", outcome="ok\x1b[31m", at=T0 + 63
        )
    finally:
        storage.close()
    return config


def test_cli_audit_verify_exits_0_on_an_intact_log(logged):
    result = warden("audit", "--config", str(logged), "--verify", cwd=logged.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("audit log intact: 5 rows")


def test_cli_audit_verify_exits_1_naming_the_tampered_row(logged):
    storage = open_database(logged.parent / "warden-demo.db", __version__)
    try:
        attacker(storage, ("UPDATE audit SET outcome = 'ok' WHERE id = 3", []))
    finally:
        storage.close()
    result = warden("audit", "--config", str(logged), "--verify", cwd=logged.parent)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("audit log tampered: first bad row 3: row 3 was edited")


def test_cli_audit_prints_the_last_events_oldest_first(logged):
    result = warden("audit", "--config", str(logged), cwd=logged.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert lines[1].split() == ["2026-11-28", "00:13:03Z", "U02APPROVER", "approve", "DEMO", "R3f2a9", "ok"]
    assert lines[3].split()[3:6] == ["refused", "-", "R3f2a9"]
    assert lines[3].index("refused") == lines[1].index("approve")  # aligned columns
    assert "\x1b" not in result.stdout and lines[4].endswith("ok\\x1b[31m")

    result = warden("audit", "--config", str(logged), "--last", "2", cwd=logged.parent)
    assert [line.split()[3] for line in result.stdout.splitlines()] == ["refused", "silence"]


def test_cli_audit_csv_to_stdout_and_to_a_file(logged):
    result = warden("audit", "--config", str(logged), "--csv", cwd=logged.parent)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(audit.CSV_COLUMNS) and len(rows) == 6
    assert rows[3][6] == "CPF9801: Object not found."

    out = logged.parent / "audit.csv"
    result = warden("audit", "--config", str(logged), "--csv", str(out), cwd=logged.parent)
    assert result.returncode == 0, result.stderr
    with out.open(newline="") as file:
        assert list(csv.reader(file)) == rows


def test_cli_audit_refuses_conflicting_options_and_a_bad_count(logged):
    result = warden("audit", "--config", str(logged), "--verify", "--csv", cwd=logged.parent)
    assert result.returncode == 2 and "not allowed with" in result.stderr
    result = warden("audit", "--config", str(logged), "--last", "0", cwd=logged.parent)
    assert result.returncode == 2 and "at least 1" in result.stderr


def test_cli_audit_without_a_database_or_with_a_broken_one_exits_2(tmp_path):
    config = write_config(tmp_path)
    result = warden("audit", "--config", str(config), "--verify", cwd=tmp_path)
    assert result.returncode == 2 and "no database at" in result.stderr
    assert not (tmp_path / "warden-demo.db").exists()

    (tmp_path / "warden-demo.db").write_text("not a database")
    result = warden("audit", "--config", str(config), "--verify", cwd=tmp_path)
    assert result.returncode == 2 and "storage error" in result.stderr and "Traceback" not in result.stderr


def test_cli_audit_with_a_bad_configuration_exits_2(tmp_path):
    config = write_config(tmp_path, **{'"10.0.0.0/8"': '"10.0.0.300/8"'})
    result = warden("audit", "--config", str(config), cwd=tmp_path, env=CLEAN_ENV)
    assert result.returncode == 2 and "configuration error" in result.stderr
