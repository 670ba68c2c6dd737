"""Storage trouble is loud: a write refused by the database (locked by another process, a full disk, a
read-only file) raises a StorageFailure naming the cause and the fix, is logged once per outage at ERROR,
and its end once at INFO."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot
from storage import Storage, StorageError, open_database
from storage.check_runs import CheckRun, last_runs, record_run
from storage.database import StorageFailure
from storage.health import RECOVERY_QUIET, StorageProblem

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def storage(tmp_path: Path, clock: ManualClock) -> Iterator[Storage]:
    # busy_timeout 0: a write the other process blocks fails at once instead of after 5 s
    opened = open_database(tmp_path / "warden.db", bot.__version__, busy_timeout_ms=0)
    opened.health.clock = clock
    yield opened
    opened.close()


@pytest.fixture
def other_process(storage: Storage) -> Iterator[sqlite3.Connection]:
    """Another process's connection (e.g. a sqlite3 shell) holding the write lock for the length of the test."""
    conn = sqlite3.connect(storage.path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def a_run(minute: int = 0, error: str | None = None) -> CheckRun:
    started = T0.replace(minute=minute)
    return CheckRun("PROD", "netstat", started, 1.0, "error" if error else "ok", 0, error)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_write_while_another_process_holds_the_lock_fails_naming_the_cause_and_the_fix(
    storage: Storage, other_process: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(StorageFailure) as failure:
        record_run(storage, a_run())
    assert isinstance(failure.value, StorageError) and isinstance(failure.value, sqlite3.OperationalError)
    problem = failure.value.problem
    assert problem.code == "SQLITE_BUSY"
    assert "locked by another process" in problem.reason
    assert "end it" in problem.fix
    assert storage.health.current_problem() == problem
    (logged,) = errors(caplog)
    assert str(storage.path) in logged and "locked by another process" in logged and "Fix:" in logged


def test_an_outage_is_logged_once_however_many_writes_fail_and_its_end_once(
    storage: Storage, other_process: sqlite3.Connection, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "storage.health")
    for minute in range(5):
        with pytest.raises(StorageFailure):
            record_run(storage, a_run(minute))
        clock.now += 10
    assert len(errors(caplog)) == 1
    assert storage.health.outages == 1
    other_process.execute("ROLLBACK")  # the other process lets go

    record_run(storage, a_run(10))  # too soon after the last failure to call the outage over
    assert storage.health.current_problem() is not None
    clock.now += RECOVERY_QUIET
    record_run(storage, a_run(11))
    assert storage.health.current_problem() is None
    recovered = [r.getMessage() for r in caplog.records if "takes writes again" in r.getMessage()]
    assert len(recovered) == 1 and recovered[0].endswith("(it could not for 110 s).")
    assert len(errors(caplog)) == 1


def test_a_full_disk_is_diagnosed(storage: Storage, caplog: pytest.LogCaptureFixture) -> None:
    pages = storage.db.execute("PRAGMA page_count").fetchone()[0]
    storage.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite answers SQLITE_FULL past this size
    with pytest.raises(StorageFailure) as failure:
        record_run(storage, a_run(error="x" * 100_000))
    assert failure.value.problem.code == "SQLITE_FULL"
    assert "disk holding it is full" in failure.value.problem.reason
    assert "free space" in failure.value.problem.fix
    assert "disk holding it is full" in errors(caplog)[0]
    assert last_runs(storage) == {}  # nothing half-written


def test_a_read_only_database_is_diagnosed(storage: Storage) -> None:
    storage.db.execute("PRAGMA query_only = ON")  # what SQLite answers for a file it may not write
    with pytest.raises(StorageFailure) as failure:
        record_run(storage, a_run())
    assert failure.value.problem.code == "SQLITE_READONLY"
    assert "read-only" in failure.value.problem.reason and "write permission" in failure.value.problem.fix


def test_the_bots_own_mistakes_are_not_storage_trouble(storage: Storage) -> None:
    with pytest.raises(sqlite3.IntegrityError), storage.transaction() as db:
        db.execute(  # a CHECK constraint refuses it: the bot's mistake, not the disk's
            "INSERT INTO check_runs (system, check_id, started_at, duration, outcome) VALUES ('P', 'c', 't', 1, 'bad')"
        )
    with pytest.raises(sqlite3.OperationalError) as error, storage.transaction() as db:
        db.execute("SELECT * FROM no_such_table")
    assert not isinstance(error.value, StorageFailure)
    assert storage.health.current_problem() is None and storage.health.outages == 0


def test_subscribers_hear_the_start_and_the_end_of_an_outage(
    storage: Storage, other_process: sqlite3.Connection, clock: ManualClock
) -> None:
    heard: list[tuple[StorageProblem | None, StorageProblem | None]] = []
    storage.health.subscribe(lambda problem, ended: heard.append((problem, ended)))
    for _ in range(3):
        with pytest.raises(StorageFailure):
            record_run(storage, a_run())
    other_process.execute("ROLLBACK")
    clock.now += RECOVERY_QUIET
    record_run(storage, a_run())
    assert len(heard) == 2
    (started, none), (no_problem, ended) = heard
    assert started is not None and none is None and no_problem is None and ended == started
