"""Reads never wait behind writes: each read runs on a connection of its own, in one snapshot, while writes
share one connection and its lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot
from storage import Storage, StorageError, open_database
from storage.check_runs import CheckRun, last_run_per_system, last_runs, reachability, record_health, record_run

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
WAIT = 10  # seconds an event may take before the test fails; never slept


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_database(tmp_path / "warden.db", bot.__version__)
    yield opened
    opened.close()


def status_reads(storage: Storage) -> tuple[object, ...]:
    """What `/ibmi status` reads."""
    return last_run_per_system(storage), last_runs(storage), reachability(storage)


def test_a_status_read_does_not_wait_for_a_write_transaction_held_by_another_thread(storage: Storage) -> None:
    record_run(storage, CheckRun("PROD", "netstat", T0, 1.0, "ok"))
    record_health(storage, "PROD", "healthy", None, T0)
    writing, finish = threading.Event(), threading.Event()

    def long_write() -> None:
        with storage.transaction() as db:
            db.execute(
                "INSERT INTO check_runs (system, check_id, started_at, duration, outcome) VALUES (?, ?, ?, ?, ?)",
                ["DEV", "netstat", T0.isoformat(), 1.0, "ok"],
            )
            writing.set()
            finish.wait(WAIT)

    writer = threading.Thread(target=long_write)
    writer.start()
    read: list[tuple[object, ...]] = []
    done = threading.Event()

    def read_status() -> None:
        read.append(status_reads(storage))
        done.set()

    try:
        assert writing.wait(WAIT)
        threading.Thread(target=read_status).start()
        assert done.wait(WAIT), "the status read waited for the write transaction"
        assert not finish.is_set()  # the write was still open when the read finished
        per_system, _, reach = read[0]
        assert set(per_system) == {"PROD"}  # the uncommitted row is not seen
        assert set(reach) == {"PROD"}
    finally:
        finish.set()
        writer.join(WAIT)
    assert set(last_run_per_system(storage)) == {"PROD", "DEV"}  # once committed, the next read sees it


def test_a_read_inside_a_transaction_sees_that_transactions_own_writes(storage: Storage) -> None:
    with storage.transaction():
        record_run(storage, CheckRun("PROD", "netstat", T0, 1.0, "ok"))
        assert set(last_run_per_system(storage)) == {"PROD"}


def test_reads_run_on_read_only_connections(storage: Storage) -> None:
    with storage.reading() as db, pytest.raises(Exception, match="readonly|read-only|query_only|attempt to write"):
        db.execute("DELETE FROM check_runs")


def test_reading_after_close_is_refused_with_a_storage_error(tmp_path: Path) -> None:
    opened = open_database(tmp_path / "warden.db", bot.__version__)
    opened.close()
    with pytest.raises(StorageError, match="closed"), opened.reading():
        pass


def test_write_transactions_take_the_write_lock_at_begin(storage: Storage) -> None:
    """BEGIN IMMEDIATE: another process's writer waits at BEGIN (busy_timeout), never mid-transaction."""
    with storage.transaction() as db:
        assert db.conn.in_transaction
        other = open_database(storage.path, bot.__version__, busy_timeout_ms=0)
        try:
            with pytest.raises(StorageError, match="locked"), other.transaction():
                pass
        finally:
            other.close()
