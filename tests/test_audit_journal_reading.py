"""Reading the audit journal incrementally (bot/ibmi/audit_journal.py, bot/checks/audit_journal/reading.py,
bot/journal_memory.py, storage/journal.py) against a journal held by a fake connection."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot import __version__
from bot.checks.audit_journal.reading import read_journal, shifted
from bot.checks.definition import CheckTarget, SourceContext
from bot.ibmi import audit_journal
from bot.ibmi.audit_journal import JournalEntry, entries_statement, timestamp_text
from bot.ibmi.table import Table
from bot.journal_memory import StoredJournal
from storage import open_database

NOW = "2026-12-03 10:00:00.000000"
CHECK = "signon-attacks"


@dataclass
class Settings:
    window: float = 3600.0
    max_entries: int = 100


class FakeJournal:
    """QAUDJRN's PW entries, the system clock and the receivers, answered as the product's statements ask."""

    def __init__(self) -> None:
        self.now = NOW
        self.rows: list[dict[str, Any]] = []
        self.attached = ("QSYS", "QAUDRCV0001")
        self.receivers = {("QSYS", "QAUDRCV0001")}
        self.reads: list[tuple[str, int]] = []  # (starting timestamp, limit) of each entries statement

    def add(self, timestamp: str, sequence: int | None, user: str = "QSECOFR", address: str = "203.0.113.7") -> None:
        self.rows.append(
            {
                "ENTRY_TIMESTAMP": timestamp,
                "SEQUENCE_NUMBER": sequence,
                "USER_NAME": "QUSER",
                "JOB_NAME": "QTVDEVICE",
                "REMOTE_ADDRESS": address,
                "VIOLATION_TYPE": "P",
                "AUDIT_USER_NAME": f"{user}    ",
            }
        )

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if statement == audit_journal.SYSTEM_TIME:
            return [{"NOW": self.now}]
        if statement == audit_journal.ATTACHED_RECEIVER:
            library, name = self.attached
            return [{"ATTACHED_JOURNAL_RECEIVER_LIBRARY": library, "ATTACHED_JOURNAL_RECEIVER_NAME": name}]
        if statement == audit_journal.RECEIVER_EXISTS:
            return [{"FOUND": 1 if tuple(params) in self.receivers else 0}]
        raise AssertionError(f"unexpected statement {statement!r}")

    def query_rows(
        self, statement: str, params: Sequence[Any], convert: Callable[[Table], list[Any]], reuse: bool = False
    ) -> list[Any]:
        match = re.fullmatch(r".*AUDIT_JOURNAL_PW\(.*FETCH FIRST (\d+) ROWS ONLY", statement)
        assert match, statement
        limit = int(match[1])
        self.reads.append((params[0], limit))
        rows = [row for row in self.rows if row["ENTRY_TIMESTAMP"] >= params[0]][:limit]
        names = tuple(self.rows[0]) if self.rows else ("ENTRY_TIMESTAMP",)
        return convert(Table(names, [tuple(row[name] for name in names) for row in rows]))


@pytest.fixture
def storage(tmp_path: Path):
    opened = open_database(tmp_path / "warden.db", __version__)
    yield opened
    opened.close()


def read(journal: FakeJournal, storage: Any, settings: Settings | None = None, memory: Any = "stored"):
    kept = StoredJournal(storage, "PROD", clock=lambda: 1.0) if memory == "stored" else memory
    context = SourceContext(journal, CheckTarget("PROD"), {CHECK: settings or Settings()}, kept)
    return read_journal(context, "PW", CHECK)


def at(minutes: float) -> str:
    return shifted(NOW, minutes * 60)


def test_the_statement_takes_only_a_known_entry_type_and_a_bounded_whole_number():
    assert "SYSTOOLS.AUDIT_JOURNAL_CP(" in entries_statement("CP", 5)
    assert entries_statement("PW", 7).endswith("FETCH FIRST 7 ROWS ONLY")
    with pytest.raises(ValueError, match="not one of PW, CP, CD, AF"):
        entries_statement("PW(); DROP", 5)
    for bad in (0, -1, 100_001, True, "5"):
        with pytest.raises(ValueError, match="whole number from 1 to 100000"):
            entries_statement("PW", bad)  # type: ignore[arg-type]


def test_timestamps_are_read_in_every_form_the_drivers_give():
    expected = "2026-12-03 05:31:00.120000"
    assert timestamp_text(datetime(2026, 12, 3, 5, 31, 0, 120000)) == expected
    assert timestamp_text("2026-12-03-05.31.00.120000") == expected  # IBM's form
    assert timestamp_text("2026-12-03 05:31:00.12") == expected
    assert timestamp_text("2026-12-03T05:31:00.120000") == expected
    with pytest.raises(ValueError, match="not a timestamp"):
        timestamp_text("yesterday")


def test_an_entry_keeps_its_own_columns_stripped_and_is_keyed_by_sequence_or_by_its_values():
    journal = FakeJournal()
    journal.add(at(-1), 41)
    journal.add(at(-1), None)
    entries = audit_journal.read_entries(journal, "PW", at(-10), 10)
    assert entries[0].text("AUDIT_USER_NAME") == "QSECOFR" and entries[0].job == "QTVDEVICE"
    assert entries[0].key == f"{at(-1)}#41"
    assert entries[1].key.startswith(f"{at(-1)}~") and entries[1].sequence is None
    assert JournalEntry.from_json(entries[1].to_json()) == entries[1]


def test_a_result_without_entry_timestamps_is_refused_by_name():
    with pytest.raises(KeyError, match="no ENTRY_TIMESTAMP"):
        audit_journal._entries("PW", Table(("USER_NAME",), [("QSECOFR",)]))


def test_the_first_read_starts_a_window_back_and_each_next_read_where_the_last_ended(storage):
    journal = FakeJournal()
    journal.add(at(-90), 1)  # before the window: never read
    journal.add(at(-30), 2)
    journal.add(at(-20), 3)
    first = read(journal, storage)
    assert journal.reads[-1][0] == at(-60)
    assert [e.sequence for e in first.entries] == [2, 3] and first.read == 2 and not first.backlog
    journal.add(at(-20), 4)  # the same timestamp as the position: read, not skipped
    journal.add(at(-5), 5)
    second = read(journal, storage)
    assert journal.reads[-1][0] == at(-20)
    assert second.read == 2 and [e.sequence for e in second.entries] == [2, 3, 4, 5]


def test_after_a_restart_nothing_is_read_twice_and_nothing_skipped(storage, tmp_path):
    journal = FakeJournal()
    journal.add(at(-30), 1)
    read(journal, storage)
    storage.close()
    reopened = open_database(tmp_path / "warden.db", __version__)
    try:
        journal.add(at(-10), 2)
        again = read(journal, reopened)
        assert again.read == 1 and [e.sequence for e in again.entries] == [1, 2]
        assert read(journal, reopened).read == 0
    finally:
        reopened.close()


def test_a_backlog_is_caught_up_over_cycles_and_every_entry_is_judged_with_the_window_before_it(storage):
    journal = FakeJournal()
    for minute in range(50):
        journal.add(at(-55 + minute), minute + 1)
    settings = Settings(window=600.0, max_entries=20)  # ten minutes of context, twenty entries a cycle
    journal.now = at(-50)  # the first read takes the window before this clock
    first = read(journal, storage, settings)
    caught, judged = [first.read], {e.sequence for e in first.entries}
    journal.now = NOW
    while True:
        position = max(judged)
        reading = read(journal, storage, settings)
        caught.append(reading.read)
        judged |= {e.sequence for e in reading.entries}
        earliest_context = shifted(at(-55 + position - 1), -600)
        assert reading.entries[0].timestamp >= earliest_context  # the window before the last position, no more
        assert [e.timestamp for e in reading.entries] == sorted(e.timestamp for e in reading.entries)
        if not reading.backlog:
            break
    assert caught == [20, 19, 11]  # each read starts at the last timestamp taken in, whose entry it skips
    assert judged == set(range(1, 51))  # entries read in a backlog, hours late, are judged all the same


def test_a_receiver_gone_since_the_last_read_is_said_once_and_reading_goes_on(storage):
    journal = FakeJournal()
    journal.add(at(-30), 1)
    read(journal, storage)
    journal.attached, journal.receivers = ("QSYS", "QAUDRCV0002"), {("QSYS", "QAUDRCV0002")}
    journal.add(at(-10), 2)
    told = read(journal, storage)
    assert len(told.notices) == 1 and "QSYS/QAUDRCV0001" in told.notices[0] and "is gone" in told.notices[0]
    assert told.read == 1
    assert read(journal, storage).notices == ()


def test_a_system_clock_behind_the_position_is_said_while_it_is_behind(storage):
    """The end of daylight saving time (or a clock set back) makes new entries carry timestamps before the position:
    a read from the position may not return them, so the check says so instead of staying quiet."""
    journal = FakeJournal()
    journal.add(at(-5), 1)
    assert read(journal, storage).notices == ()
    journal.now = at(-65)  # local time went back an hour, 5 minutes after the last entry
    journal.add(at(-64), 2)  # written after the change: its timestamp is before the position
    behind = read(journal, storage)
    assert len(behind.notices) == 1
    notice = behind.notices[0]
    assert at(-65) in notice and at(-5) in notice and "may be missed" in notice
    assert behind.read == 0  # the entry before the position is not read, which is why it is said
    assert read(journal, storage).notices == behind.notices  # said while the clock is behind
    journal.now = at(1)
    assert read(journal, storage).notices == ()


def test_a_receiver_changed_but_still_there_is_routine_and_not_said(storage):
    journal = FakeJournal()
    journal.add(at(-30), 1)
    read(journal, storage)
    journal.attached = ("QSYS", "QAUDRCV0002")
    journal.receivers.add(journal.attached)
    assert read(journal, storage).notices == ()


def test_more_entries_at_one_timestamp_than_a_cycle_reads_is_said(storage):
    journal = FakeJournal()
    for sequence in range(5):
        journal.add(at(-1), sequence + 1)
    settings = Settings(max_entries=3)
    read(journal, storage, settings)
    stuck = read(journal, storage, settings)
    assert stuck.backlog and any("raise max_entries" in notice for notice in stuck.notices)


def test_without_memory_the_window_before_the_system_clock_is_judged(storage):
    journal = FakeJournal()
    journal.add(at(-90), 1)
    journal.add(at(-30), 2)
    reading = read(journal, storage, memory=None)
    assert [e.sequence for e in reading.entries] == [2]
    assert reading.epoch(at(-30)) == pytest.approx(reading.read_at - 1800)


def test_the_entries_kept_in_memory_are_those_in_the_database_and_reloaded_when_another_writer_moved_on(
    storage, monkeypatch
):
    from bot import journal_memory
    from storage import journal as store

    journal = FakeJournal()
    for minute in range(10):
        journal.add(at(-50 + minute), minute + 1)
    settings = Settings(window=600.0, max_entries=3)
    read(journal, storage, settings)
    for _ in range(4):
        read(journal, storage, settings)
        memory = StoredJournal(storage, "PROD")
        position = memory.position("PW")
        assert position is not None
        since = shifted(position.timestamp, -600)
        in_database = [e.key for e in store.entries_since(storage, "PROD", "PW", since)]
        with monkeypatch.context() as patched:
            patched.setattr(journal_memory.store, "entries_since", None)  # served from memory, or this fails
            assert [e.key for e in memory.entries_since("PW", since)] == in_database
    written_elsewhere = JournalEntry("PW", at(-1), 99)
    other = store.JournalPosition(at(-1), (written_elsewhere.key,), None)
    elsewhere = store.StoredEntry(written_elsewhere.key, at(-1), written_elsewhere.to_json())
    store.take_in(storage, "PROD", "PW", [elsewhere], other, 2.0, at(-2))
    memory = StoredJournal(storage, "PROD")
    memory.position("PW")
    assert memory.entries_since("PW", at(-5)) == [written_elsewhere]


def test_a_read_that_moves_nothing_writes_nothing(storage):
    from storage import journal as store

    journal = FakeJournal()
    journal.add(at(-50), 1)
    journal.add(at(-30), 2)
    read(journal, storage)
    written = storage.lock.rows_changed()
    assert read(journal, storage).read == 0
    assert storage.lock.rows_changed() == written

    journal.attached = ("QSYS", "QAUDRCV0002")  # a new receiver, no new entry: the position says so
    journal.receivers.add(journal.attached)
    read(journal, storage)
    assert storage.lock.rows_changed() > written
    assert StoredJournal(storage, "PROD").position("PW").receiver == "QSYS/QAUDRCV0002"  # type: ignore[union-attr]

    read(journal, storage, Settings(window=900.0))  # a shorter window: the first entry is forgotten, nothing read
    assert [entry.key for entry in store.entries_since(storage, "PROD", "PW", at(-120))] == [f"{at(-30)}#2"]


def test_entries_taken_in_are_kept_even_when_the_position_stays(storage):
    from bot.checks.audit_journal.reading import JournalPosition
    from storage import journal as store

    position = JournalPosition(at(-30), (f"{at(-30)}#2",))
    StoredJournal(storage, "PROD").take_in("PW", [], position, at(-600))
    memory = StoredJournal(storage, "PROD")  # the next run: it reads the position, then takes in what it read
    assert memory.position("PW") == position
    entry = JournalEntry("PW", at(-30), 2, user="QSECOFR")
    memory.take_in("PW", [entry], position, at(-600))
    assert [kept.key for kept in store.entries_since(storage, "PROD", "PW", at(-600))] == [entry.key]


def test_entries_that_cannot_matter_are_judged_when_read_and_not_kept(storage):
    from storage import journal as store

    journal = FakeJournal()
    for minute in range(4):
        journal.add(at(-10 + minute), minute + 1)

    def read_keeping_odd() -> list[int | None]:
        memory = StoredJournal(storage, "PROD", clock=lambda: 1.0)
        context = SourceContext(journal, CheckTarget("PROD"), {CHECK: Settings()}, memory)
        reading = read_journal(context, "PW", CHECK, lambda entry: bool((entry.sequence or 0) % 2))
        return [entry.sequence for entry in reading.entries]

    assert read_keeping_odd() == [1, 2, 3, 4]  # every entry read is judged
    journal.add(at(-5), 5)
    journal.add(at(-4), 6)
    assert read_keeping_odd() == [1, 3, 5, 6]  # those kept, and the new ones
    assert read_keeping_odd() == [1, 3, 5]
    kept = store.entries_since(storage, "PROD", "PW", at(-60))
    assert [entry.data["sequence"] for entry in kept] == [1, 3, 5]
