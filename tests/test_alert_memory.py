"""The alerts of each system and check are kept in memory between runs, so an unchanged run reads and writes
none of them; the database stays the truth: whatever the copy kept missed (a rolled-back run, another process,
retention) is read again, and `last_seen` reads as if every run had written it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import bot
from bot.alerting.lifecycle import AlertManager
from bot.checks.finding import Finding
from bot.config import AlertSettings, Route
from storage import Storage, open_database, outbox, retention
from storage.alerts import alert, alerts_of

SYSTEM, CHECK = "PROD", "unknown-connections"
T0 = 1_800_000_000.0


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_database(tmp_path / "warden.db", bot.__version__)
    yield opened
    opened.close()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def finding(subject: str, title: str = "connection") -> Finding:
    return Finding(SYSTEM, CHECK, "warning", subject, f"{title} from {subject}", ("d",), {"remote_address": subject})


def manager(storage: Storage, clock: Clock, resolve_after: int = 2) -> AlertManager:
    settings = AlertSettings(resolve_after=resolve_after)
    return AlertManager(storage, settings, (Route("C0ALERTS", "info"),), clock=clock)


def test_last_seen_reads_as_the_last_run_that_reported_it_without_rewriting_it(storage):
    clock = Clock()
    alerts = manager(storage, clock)
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9"), finding("198.51.100.7")])
    clock.now += 300
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9"), finding("198.51.100.7")])
    clock.now += 300
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])  # 198.51.100.7 missed once: still open
    kept, missed = finding("203.0.113.9").fingerprint, finding("198.51.100.7").fingerprint
    assert alert(storage, kept).last_seen == T0 + 600
    assert alert(storage, missed).last_seen == T0 + 300  # the last run that reported it
    assert alerts_of(storage, SYSTEM, CHECK)[missed].clean_runs == 1


def test_a_run_rolled_back_leaves_nothing_behind_in_memory(storage, monkeypatch):
    clock = Clock()
    alerts = manager(storage, clock)

    def refused(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "enqueue", refused)
    with pytest.raises(RuntimeError):
        alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    monkeypatch.undo()
    assert alerts_of(storage, SYSTEM, CHECK) == {}
    result = alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    assert result.new == [finding("203.0.113.9").fingerprint]  # posted now: the failed run never was


def test_what_another_process_wrote_is_read_again(storage, tmp_path):
    clock = Clock()
    alerts = manager(storage, clock)
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    other = open_database(tmp_path / "warden.db", bot.__version__)
    try:
        manager(other, clock).process(SYSTEM, CHECK, [finding("203.0.113.9"), finding("198.51.100.7")])
    finally:
        other.close()
    clock.now += 300
    result = alerts.process(SYSTEM, CHECK, [finding("203.0.113.9"), finding("198.51.100.7")])
    assert not result.changed  # the other process posted 198.51.100.7: not new here


def test_alerts_retention_forgot_are_forgotten_in_memory_too(storage):
    clock = Clock()
    alerts = manager(storage, clock, resolve_after=1)
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    clock.now += 300
    assert alerts.process(SYSTEM, CHECK, []).resolved == [finding("203.0.113.9").fingerprint]
    clock.now += 10 * 86400
    assert retention.prune(storage, clock.now - 86400)["alerts"] == 1
    result = alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    assert result.new == [finding("203.0.113.9").fingerprint] and not result.reopened


def test_a_changed_finding_is_saved_and_an_unchanged_one_is_not(storage):
    clock = Clock()
    alerts = manager(storage, clock)
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    clock.now += 300
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    try:
        alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
        unchanged = [s for s in statements if "INTO alerts " in s]
        statements.clear()
        alerts.process(SYSTEM, CHECK, [finding("203.0.113.9", title="two connections")])
        changed = [s for s in statements if "INTO alerts " in s]
    finally:
        storage.db.conn.set_trace_callback(None)
    assert unchanged == [] and len(changed) == 1
    assert alert(storage, finding("203.0.113.9").fingerprint).title == "two connections from 203.0.113.9"


def test_an_alert_reported_unchanged_for_many_runs_then_missed_was_last_seen_by_the_last_run_that_reported_it(storage):
    clock = Clock()
    alerts = manager(storage, clock)
    for _ in range(4):
        alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
        assert alert(storage, finding("203.0.113.9").fingerprint).last_seen == clock.now
        clock.now += 300
    alerts.process(SYSTEM, CHECK, [])
    stored = alert(storage, finding("203.0.113.9").fingerprint)
    assert (stored.last_seen, stored.clean_runs) == (T0 + 900, 1)
