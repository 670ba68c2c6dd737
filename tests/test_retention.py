"""[storage] retention: what is older goes, in small batches, and the tables stay bounded however long the bot
runs; what is still in use (open alerts, unsent messages, the messages they refer to) stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot
from bot.config import ConfigError, load_config
from storage import Storage, open_database, retention
from tests.test_cli import write_config

HOUR = 3600.0
DAY = 24 * HOUR
RETENTION = 3 * DAY
T0 = 1_750_000_000.0
PER_STEP = 20  # rows of each kind written every 6 hours
MAINTENANCE_EVERY = 6 * HOUR  # as the scheduler runs it


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_database(tmp_path / "warden.db", bot.__version__)
    yield opened
    opened.close()


def counts(storage: Storage) -> dict[str, int]:
    tables = ("alerts", "alert_messages", "check_runs", "outbox", "silences", "sent_messages")
    return {table: storage.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


def write_a_step(storage: Storage, step: int, now: float) -> None:
    """Six hours of a busy bot: alerts that came and went, check runs, delivered messages, a silence."""
    runs_at = datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds")
    with storage.transaction() as db:
        for i in range(PER_STEP):
            fingerprint, key = f"fp-{step}-{i}", f"alert-{step}-{i}"
            db.execute(
                "INSERT INTO alerts (fingerprint, system, check_id, subject, severity, title, state, first_seen, "
                "last_seen, resolved_at, finding_json) VALUES (?, 'PROD', 'netstat', ?, 'warning', 't', 'resolved', "
                "?, ?, ?, '{}')",
                [fingerprint, f"198.51.100.{i}", now - HOUR, now, now],
            )
            db.execute("INSERT INTO alert_messages VALUES (?, 'C1', ?)", [fingerprint, key])
            db.execute("INSERT INTO sent_messages (key, channel, ts, sent_at) VALUES (?, 'C1', ?, ?)", [key, key, now])
            db.execute(
                "INSERT INTO outbox (channel, method, payload, message_key, state, enqueued_at, next_attempt_at, "
                "finished_at) VALUES ('C1', 'chat.postMessage', '{}', ?, 'sent', ?, ?, ?)",
                [key, now, now, now],
            )
            db.execute(
                "INSERT INTO check_runs (system, check_id, started_at, duration, outcome) VALUES (?, ?, ?, 1, 'ok')",
                [f"SYS{i % 5}", f"check-{i % 4}", runs_at],
            )
        db.execute(
            "INSERT INTO silences (matcher_kind, matcher, reason, author, created_at, expires_at) "
            "VALUES ('address', '203.0.113.7', 'test', 'U1', ?, ?)",
            [now, now + HOUR],
        )


def write_what_stays(storage: Storage, now: float) -> None:
    """An alert still open, its message, and a reply to it still queued: in use, whatever their age."""
    with storage.transaction() as db:
        db.execute(
            "INSERT INTO alerts (fingerprint, system, check_id, subject, severity, title, state, first_seen, "
            "last_seen, finding_json) VALUES ('open-fp', 'PROD', 'netstat', 's', 'critical', 't', 'open', ?, ?, '{}')",
            [now, now],
        )
        db.execute("INSERT INTO alert_messages VALUES ('open-fp', 'C1', 'open-key')")
        db.execute("INSERT INTO sent_messages (key, channel, ts, sent_at) VALUES ('open-key', 'C1', '1.0', ?)", [now])
        db.execute(
            "INSERT INTO outbox (channel, method, payload, thread_key, state, enqueued_at, next_attempt_at) "
            "VALUES ('C1', 'chat.postMessage', '{}', 'open-key', 'pending', ?, ?)",
            [now, now],
        )


def test_table_sizes_stay_bounded_over_a_month(storage: Storage) -> None:
    write_what_stays(storage, T0)
    sizes = []
    steps = int(30 * DAY / MAINTENANCE_EVERY)
    for step in range(steps):
        now = T0 + step * MAINTENANCE_EVERY
        write_a_step(storage, step, now)
        retention.prune(storage, now - RETENTION, batch=50)
        sizes.append(counts(storage))
    kept_steps = int(RETENTION / MAINTENANCE_EVERY) + 1  # the steps newer than the retention, this one included
    expected = {
        "alerts": kept_steps * PER_STEP + 1,
        "alert_messages": kept_steps * PER_STEP + 1,
        "check_runs": kept_steps * PER_STEP,
        "outbox": kept_steps * PER_STEP + 1,
        "silences": kept_steps,
        "sent_messages": kept_steps * PER_STEP + 1,
    }
    assert sizes[-1] == expected
    assert max(size["alerts"] for size in sizes) == expected["alerts"]  # never more, on any day of the month
    assert all(size == expected for size in sizes[kept_steps:])  # flat once the retention is reached
    assert storage.db.execute("SELECT state FROM alerts WHERE fingerprint = 'open-fp'").fetchone() == ("open",)
    assert storage.db.execute("SELECT count(*) FROM sent_messages WHERE key = 'open-key'").fetchone() == (1,)
    assert storage.db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone() == (1,)


def test_the_newest_run_of_each_check_is_kept_however_old(storage: Storage) -> None:
    write_a_step(storage, 0, T0)
    retention.prune(storage, T0 + 365 * DAY)
    assert counts(storage)["check_runs"] == 20  # five systems × four checks: each one's newest run
    assert counts(storage)["alerts"] == 0


def test_pruning_goes_in_small_transactions(storage: Storage) -> None:
    for step in range(5):
        write_a_step(storage, step, T0)
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    try:
        pruned = retention.prune(storage, T0 + DAY, batch=7)
    finally:
        storage.db.conn.set_trace_callback(None)
    assert pruned["alerts"] == pruned["outbox"] == pruned["sent_messages"] == 100
    assert pruned["silences"] == 5
    assert sum(1 for s in statements if s == "COMMIT") >= 3 * (100 // 7 + 1)  # three tables of 100 rows, 7 at a time
    assert counts(storage)["alerts"] == 0


def test_the_audit_log_and_change_requests_are_never_pruned(storage: Storage) -> None:
    from storage import audit

    audit.append(storage, actor="U1", action="request", system="PROD", subject="R1", outcome="ok", details={}, at=T0)
    retention.prune(storage, T0 + 365 * DAY)
    assert storage.db.execute("SELECT count(*) FROM audit").fetchone() == (1,)


@pytest.mark.parametrize("value", ['"30d"', '"12h"', '"1d12h"'])
def test_retention_accepts_a_duration(tmp_path: Path, value: str) -> None:
    config = load_config(write_config(tmp_path, **{'retention = "30d"': f"retention = {value}"}))
    assert config.storage.retention in (30 * DAY, 12 * HOUR, 36 * HOUR)


def test_retention_defaults_to_30_days(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, **{'retention = "30d"': ""})).storage.retention == 30 * DAY


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"10m"', "storage.retention: '10m' is too short; expected a duration of at least 1h"),
        ('"a month"', "storage.retention: 'a month' is not a duration; expected a number with a unit"),
        ("30", "storage.retention: 30 is too short; expected a duration of at least 1h"),
        ("true", "storage.retention: expected a duration, got a boolean (accepted: a duration like"),
    ],
)
def test_a_wrong_retention_is_refused_with_what_is_accepted(tmp_path: Path, value: str, problem: str) -> None:
    path = write_config(tmp_path, **{'retention = "30d"': f"retention = {value}"})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert any(problem in line for line in error.value.problems), error.value.problems
