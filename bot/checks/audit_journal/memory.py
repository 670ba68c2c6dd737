"""A system's reading of the audit journal, kept in the bot's database (storage/journal.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from storage import Storage
from storage import journal as store
from storage.journal import JournalPosition, StoredEntry


class StoredJournal:
    def __init__(self, storage: Storage, system: str, clock: Callable[[], float] = time.time):
        self.storage = storage
        self.system = system
        self.clock = clock

    def position(self, entry_type: str) -> JournalPosition | None:
        return store.position(self.storage, self.system, entry_type)

    def take_in(
        self, entry_type: str, entries: Sequence[StoredEntry], position: JournalPosition, forget_before: str
    ) -> None:
        store.take_in(self.storage, self.system, entry_type, entries, position, self.clock(), forget_before)

    def entries_since(self, entry_type: str, since: str) -> list[StoredEntry]:
        return store.entries_since(self.storage, self.system, entry_type, since)
