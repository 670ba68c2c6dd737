"""A system's reading of the audit journal, kept in the bot's database (storage/journal.py), as the journal sources
of bot.checks.audit_journal ask for it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from bot.checks.audit_journal.reading import JournalPosition, KeptEntry
from storage import Storage
from storage import journal as store
from storage.database import StorageFailure


class StoredJournal:
    def __init__(self, storage: Storage, system: str, clock: Callable[[], float] = time.time):
        self.storage = storage
        self.system = system
        self.clock = clock

    def now(self) -> float:
        return self.clock()

    def position(self, entry_type: str) -> JournalPosition | None:
        kept = store.position(self.storage, self.system, entry_type)
        return None if kept is None else JournalPosition(kept.timestamp, kept.keys, kept.receiver)

    def take_in(
        self, entry_type: str, entries: Sequence[KeptEntry], position: JournalPosition, forget_before: str
    ) -> None:
        """Keep the entries and the new position; when the database refuses the write (said once per outage by
        the storage's health), the position stays where it was and the next read takes these entries again."""
        stored = [store.StoredEntry(entry.key, entry.timestamp, entry.data) for entry in entries]
        new_position = store.JournalPosition(position.timestamp, position.keys, position.receiver)
        try:
            store.take_in(self.storage, self.system, entry_type, stored, new_position, self.clock(), forget_before)
        except StorageFailure:
            return

    def entries_since(self, entry_type: str, since: str) -> list[KeptEntry]:
        kept = store.entries_since(self.storage, self.system, entry_type, since)
        return [KeptEntry(entry.key, entry.timestamp, entry.data) for entry in kept]
