"""A system's reading of the audit journal, kept in the bot's database (storage/journal.py), as the journal sources
of bot.checks.audit_journal ask for it.

Each cycle judges the entries of a window before the last position again. Decoding them from the database every
cycle cost more than judging them, so the entries kept of each system and entry type are also kept in memory, and
used while the position stored is the one they were kept with (the database stays the truth: another writer, a
failed write or a restart makes the next read load them again).
"""

from __future__ import annotations

import time
import weakref
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.checks.audit_journal.reading import JournalPosition
from bot.ibmi.audit_journal import JournalEntry
from storage import Storage
from storage import journal as store
from storage.database import StorageFailure


@dataclass
class _Copy:
    position: JournalPosition | None  # the stored position it is in step with
    complete_from: str  # it holds every kept entry from this timestamp on
    entries: list[JournalEntry]  # oldest first
    timestamps: list[str]


_COPIES: weakref.WeakKeyDictionary[Storage, dict[tuple[str, str], _Copy]] = weakref.WeakKeyDictionary()


class StoredJournal:
    def __init__(self, storage: Storage, system: str, clock: Callable[[], float] = time.time):
        self.storage = storage
        self.system = system
        self.clock = clock
        self._read: dict[str, JournalPosition | None] = {}  # the positions read in this run

    def now(self) -> float:
        return self.clock()

    def position(self, entry_type: str) -> JournalPosition | None:
        kept = store.position(self.storage, self.system, entry_type)
        position = None if kept is None else JournalPosition(kept.timestamp, kept.keys, kept.receiver)
        self._read[entry_type] = position
        return position

    def take_in(
        self, entry_type: str, entries: Sequence[JournalEntry], position: JournalPosition, forget_before: str
    ) -> None:
        """Keep the entries and the new position; when the database refuses the write (said once per outage by
        the storage's health), the position stays where it was and the next read takes these entries again. A
        read that moved nothing (no entry to keep, the position read, none to forget) writes nothing: on a quiet
        journal, most reads of every system each minute."""
        copies = _COPIES.setdefault(self.storage, {})
        copy = copies.pop((self.system, entry_type), None)
        stored = [store.StoredEntry(entry.key, entry.timestamp, entry.to_json()) for entry in entries]
        new_position = store.JournalPosition(position.timestamp, position.keys, position.receiver)
        try:
            if not self._moved_nothing(entry_type, entries, position, forget_before):
                store.take_in(self.storage, self.system, entry_type, stored, new_position, self.clock(), forget_before)
        except StorageFailure:
            return
        if entry_type not in self._read:
            return
        if copy is not None and copy.position == self._read[entry_type]:
            start = bisect_left(copy.timestamps, forget_before)
            added = sorted(entries, key=lambda entry: entry.timestamp)
            if not added or not copy.timestamps or added[0].timestamp >= copy.timestamps[-1]:  # read in order
                merged = copy.entries[start:] + added
                timestamps = copy.timestamps[start:] + [entry.timestamp for entry in added]
            else:
                merged = sorted([*copy.entries[start:], *added], key=lambda entry: entry.timestamp)
                timestamps = [e.timestamp for e in merged]
            complete_from = max(copy.complete_from, forget_before)
            copies[(self.system, entry_type)] = _Copy(position, complete_from, merged, timestamps)
        elif self._read[entry_type] is None:  # the first read: what was just written is all there is
            first = sorted(entries, key=lambda entry: entry.timestamp)
            copies[(self.system, entry_type)] = _Copy(position, forget_before, first, [e.timestamp for e in first])

    def _moved_nothing(
        self, entry_type: str, entries: Sequence[JournalEntry], position: JournalPosition, forget_before: str
    ) -> bool:
        return (
            not entries
            and entry_type in self._read
            and self._read[entry_type] == position
            and not store.any_before(self.storage, self.system, entry_type, forget_before)
        )

    def entries_since(self, entry_type: str, since: str) -> list[JournalEntry]:
        copies = _COPIES.setdefault(self.storage, {})
        copy = copies.get((self.system, entry_type))
        position = self._read.get(entry_type)
        if copy is not None and copy.position == position and since >= copy.complete_from:
            return copy.entries[bisect_left(copy.timestamps, since) :]
        loaded = [  # decoded once here: the copy hands the same entries to every run (memo.EntryMemo)
            JournalEntry.from_json(entry.data)
            for entry in store.entries_since(self.storage, self.system, entry_type, since)
        ]
        if entry_type in self._read:
            copies[(self.system, entry_type)] = _Copy(position, since, loaded, [e.timestamp for e in loaded])
        return loaded
