"""The bot's database: opening, migrations, refusing newer files, and the check-run tables."""

from __future__ import annotations

import ast
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import bot
from storage import SCHEMA_VERSION, NewerDatabaseError, Storage, StorageError, open_database
from storage.check_runs import (
    CheckRun,
    Reachability,
    last_run_per_system,
    last_runs,
    prune_runs,
    reachability,
    record_answered,
    record_health,
    record_run,
)
from storage.migrations import MIGRATION_SET, migration_names

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def storage(tmp_path: Path):
    opened = open_database(tmp_path / "warden.db", bot.__version__)
    yield opened
    opened.close()


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def run(system: str, check: str, minutes: int, outcome: str = "ok", findings: int = 0) -> CheckRun:
    error = "CPF9999: it broke" if outcome == "error" else None
    return CheckRun(system, check, T0 + timedelta(minutes=minutes), 1.25, outcome, findings, error)


# --- opening --------------------------------------------------------------------------------------


def test_open_creates_the_folder_when_asked_and_turns_on_wal(tmp_path: Path) -> None:
    opened = open_database(tmp_path / "nested" / "folder" / "warden.db", bot.__version__, create_folder=True)
    try:
        assert isinstance(opened, Storage)
        assert opened.db.journal_mode == "wal"
        assert opened.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert opened.db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    finally:
        opened.close()


def test_migrations_and_schema_version_are_recorded(storage: Storage) -> None:
    applied = [row["name"] for row in storage.db["_sqlite_migrations"].rows_where("migration_set = ?", [MIGRATION_SET])]
    assert applied == migration_names()
    assert SCHEMA_VERSION == len(migration_names()) >= 1
    (row,) = storage.db["schema_version"].rows
    assert row["version"] == SCHEMA_VERSION
    assert row["written_by"] == bot.__version__
    assert {"check_runs", "system_reachability"} <= set(storage.db.table_names())


def test_reopening_is_idempotent_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    open_database(path, bot.__version__).close()
    before = snapshot(path)
    again = open_database(path, bot.__version__)
    try:
        assert again.db["_sqlite_migrations"].count == len(migration_names())
        assert again.db["schema_version"].count == 1
    finally:
        again.close()
    assert snapshot(path) == before


def test_database_from_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    open_database(path, bot.__version__).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?, written_by = '9.1.0'", [SCHEMA_VERSION + 1])
    conn.close()
    before = snapshot(path)
    with pytest.raises(NewerDatabaseError) as caught:
        open_database(path, bot.__version__)
    assert str(caught.value) == (
        f"{path} was written by ibmi-warden 9.1.0 (schema {SCHEMA_VERSION + 1}); "
        f"this is ibmi-warden {bot.__version__} (schema {SCHEMA_VERSION}). "
        "Upgrade ibmi-warden, or restore a backup made before the upgrade."
    )
    assert snapshot(path) == before


def test_database_with_an_unknown_migration_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    open_database(path, bot.__version__).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = delete")  # also shows that opening does not switch it to WAL
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, 'later')",
            [MIGRATION_SET, "m999_future"],
        )
    conn.close()
    before = snapshot(path)
    with pytest.raises(NewerDatabaseError, match="Upgrade ibmi-warden") as caught:
        open_database(path, bot.__version__)
    assert caught.value.unknown_migrations == ["m999_future"]
    assert "m999_future" in str(caught.value)
    assert snapshot(path) == before
    assert not (tmp_path / "warden.db-wal").exists()


def test_the_callers_version_is_recorded_and_quoted(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    opened = open_database(path, "7.7.7")
    try:
        (row,) = opened.db["schema_version"].rows
        assert row["written_by"] == "7.7.7"
    finally:
        opened.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", [SCHEMA_VERSION + 1])
    conn.close()
    with pytest.raises(NewerDatabaseError) as caught:
        open_database(path, "7.0.0")
    assert "written by ibmi-warden 7.7.7" in str(caught.value)
    assert "this is ibmi-warden 7.0.0 " in str(caught.value)


def test_storage_imports_nothing_from_the_bot() -> None:
    imported: set[str] = set()
    for module in (REPO / "storage").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module)
    assert not {name for name in imported if name == "bot" or name.startswith(("bot.", "handlers"))}


def test_newer_database_error_is_a_storage_error() -> None:
    assert issubclass(NewerDatabaseError, StorageError)


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    path.write_text("[slack]\nalerts_channel = 'C0123ALERTS'\n" * 20, encoding="utf-8")
    before = snapshot(path)
    with pytest.raises(StorageError, match="is not an SQLite database"):
        open_database(path, bot.__version__)
    assert snapshot(path) == before


def test_a_folder_in_place_of_the_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open the database"):
        open_database(tmp_path, bot.__version__)


def test_transaction_rolls_back_on_error(storage: Storage) -> None:
    with pytest.raises(RuntimeError), storage.transaction() as db:
        db["check_runs"].insert(
            {"system": "A", "check_id": "c", "started_at": "x", "duration": 0, "outcome": "ok", "findings": 0}
        )
        raise RuntimeError("undo")
    assert storage.db["check_runs"].count == 0


# --- check runs -----------------------------------------------------------------------------------


def test_last_runs_round_trip_with_several_systems_and_checks(storage: Storage) -> None:
    runs = [
        run("PROD", "unknown-connections", 10, "findings", 2),
        run("PROD", "unknown-connections", 5, "ok"),  # recorded later but older: not the latest
        run("PROD", "smtp-relay", 7, "error"),
        run("TEST", "unknown-connections", 3, "ok"),
        run("TEST", "unknown-connections", 4, "findings", 1),
        run("TEST", "splctl-exposure", 1, "ok"),
    ]
    for each in runs:
        record_run(storage, each)

    assert last_runs(storage) == {
        ("PROD", "unknown-connections"): runs[0],
        ("PROD", "smtp-relay"): runs[2],
        ("TEST", "unknown-connections"): runs[4],
        ("TEST", "splctl-exposure"): runs[5],
    }
    assert last_run_per_system(storage) == {"PROD": runs[0], "TEST": runs[4]}
    latest = last_runs(storage)[("PROD", "smtp-relay")]
    assert latest.error == "CPF9999: it broke" and latest.started_at.tzinfo is not None


def test_empty_database_has_no_runs(storage: Storage) -> None:
    assert last_runs(storage) == {}
    assert last_run_per_system(storage) == {}
    assert reachability(storage) == {}


def test_check_run_keeps_time_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2025, 3, 1, 13, 0, tzinfo=paris)
    assert CheckRun("A", "c", moment, 0.5, "ok").started_at == T0
    assert CheckRun("A", "c", moment, 0.5, "ok").started_at.utcoffset() == timedelta(0)


def test_check_run_rejects_naive_time_and_unknown_outcome() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        CheckRun("A", "c", datetime(2025, 3, 1), 0.5, "ok")
    with pytest.raises(ValueError, match="outcome"):
        CheckRun("A", "c", T0, 0.5, "warning")


def test_summary() -> None:
    assert run("A", "c", 0, "ok").summary == "no findings"
    assert run("A", "c", 0, "findings", 1).summary == "1 finding"
    assert run("A", "c", 0, "findings", 3).summary == "3 findings"
    assert run("A", "c", 0, "error").summary == "error: CPF9999: it broke"


def test_prune_keeps_the_newest_per_system_and_check(storage: Storage) -> None:
    for minute in range(10):
        record_run(storage, run("PROD", "smtp-relay", minute))
        record_run(storage, run("TEST", "smtp-relay", minute))
    record_run(storage, run("PROD", "splctl-exposure", 0))

    assert prune_runs(storage, keep_per_check=3) == 14
    assert storage.db["check_runs"].count == 7
    assert last_runs(storage)[("PROD", "smtp-relay")] == run("PROD", "smtp-relay", 9)
    assert prune_runs(storage, keep_per_check=3) == 0


def test_concurrent_record_run_from_threads(storage: Storage) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            for minute in range(40):
                record_run(storage, run(f"SYS{worker % 4}", f"check-{worker}", minute, "findings", worker))
                if minute % 10 == 0:
                    last_runs(storage)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert storage.db["check_runs"].count == 8 * 40
    assert len(last_runs(storage)) == 8
    assert all(each.started_at == T0 + timedelta(minutes=39) for each in last_runs(storage).values())


# --- reachability ---------------------------------------------------------------------------------


def test_health_round_trip_newest_wins_and_since_kept_while_the_state_stays(storage: Storage) -> None:
    record_health(storage, "PROD", "healthy", None, T0)
    record_health(storage, "TEST", "unreachable", "connection refused", T0)
    record_health(storage, "PROD", "erroring", "SQL0901", T0 + timedelta(minutes=2))
    record_health(storage, "PROD", "erroring", "SQL0901 again", T0 + timedelta(minutes=5))
    record_health(storage, "PROD", "healthy", None, T0 + timedelta(minutes=1))  # late, older report

    assert reachability(storage) == {
        "PROD": Reachability(True, "SQL0901 again", T0 + timedelta(minutes=5), "erroring", T0 + timedelta(minutes=2)),
        "TEST": Reachability(False, "connection refused", T0, "unreachable", T0),
    }
    reachable, error, at, state, since = reachability(storage)["TEST"]
    assert (reachable, error, at, state, since) == (False, "connection refused", T0, "unreachable", T0)
    with pytest.raises(ValueError, match="'poorly' is not one of healthy, unreachable, hung"):
        record_health(storage, "PROD", "poorly", None, T0 + timedelta(minutes=6))


def test_an_answer_outside_the_checks_ends_only_a_connection_sickness(storage: Storage) -> None:
    record_health(storage, "HUNG", "hung", "did not answer within 35s", T0)
    record_health(storage, "SICK", "erroring", "SQL0901", T0)
    for system in ("HUNG", "SICK", "NEW"):
        record_answered(storage, system, T0 + timedelta(minutes=1))
    states = {system: (r.state, r.error) for system, r in reachability(storage).items()}
    assert states == {"HUNG": ("healthy", None), "SICK": ("erroring", "SQL0901"), "NEW": ("healthy", None)}


def test_the_health_migration_keeps_what_was_known(tmp_path: Path) -> None:
    from sqlite_utils import Database

    from storage.migrations import m010_system_health, migrations

    db = Database(tmp_path / "old.db")
    for migration in migrations.pending(db):
        if migration.name.startswith("m009"):
            break
        migration.fn(db)
    db.execute("INSERT INTO system_reachability VALUES ('PROD', 0, 'refused', '2026-01-01T00:00:00.000000+00:00')")
    db.execute("INSERT INTO system_reachability VALUES ('TEST', 1, NULL, '2026-01-01T00:00:00.000000+00:00')")
    m010_system_health(db)
    rows = {r["system"]: (r["state"], r["since"]) for r in db.query("SELECT * FROM system_reachability")}
    assert rows == {
        "PROD": ("unreachable", "2026-01-01T00:00:00.000000+00:00"),
        "TEST": ("healthy", "2026-01-01T00:00:00.000000+00:00"),
    }
