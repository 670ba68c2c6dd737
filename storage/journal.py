"""The security audit journal as the bot has read it: where each system's reading of each entry type stands, and
the entries read, kept while a check still judges them (its window).

The position and the entries it covers are written in one transaction, so after a stop the next read starts where
the last one that was kept ended: no entry is read twice, none is skipped. Timestamps are the journal's own text
("YYYY-MM-DD HH:MM:SS.ffffff", the system's local time), which sorts as it reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Storage


@dataclass(frozen=True)
class JournalPosition:
    """Read up to `timestamp`; `keys` are the entries at exactly that timestamp already taken in; `receiver` is the
    journal receiver (LIBRARY/NAME) attached when it was read."""

    timestamp: str
    keys: tuple[str, ...] = ()
    receiver: str | None = None


@dataclass(frozen=True)
class StoredEntry:
    key: str
    timestamp: str
    data: dict[str, Any]


def position(storage: Storage, system: str, entry_type: str) -> JournalPosition | None:
    with storage.reading() as db:
        rows = list(
            db.query(
                "SELECT entry_timestamp, keys_json, receiver FROM journal_positions "
                "WHERE system = ? AND entry_type = ?",
                [system, entry_type],
            )
        )
    if not rows:
        return None
    row = rows[0]
    return JournalPosition(row["entry_timestamp"], tuple(json.loads(row["keys_json"])), row["receiver"])


def take_in(
    storage: Storage,
    system: str,
    entry_type: str,
    entries: Sequence[StoredEntry],
    new_position: JournalPosition,
    now: float,
    forget_before: str,
) -> None:
    """Keep `entries` (those already kept are left as they are), move the position to `new_position`, and forget
    the entries older than `forget_before`: one transaction. `now` is kept as the position's read_at: when it was
    last written (a read that moves nothing is not written, bot/journal_memory.py)."""
    encoder = json.JSONEncoder(sort_keys=True, default=str)
    with storage.transaction() as db:
        db.conn.executemany(
            "INSERT OR IGNORE INTO journal_entries (system, entry_type, entry_key, entry_timestamp, entry_json) "
            "VALUES (?, ?, ?, ?, ?)",
            [(system, entry_type, entry.key, entry.timestamp, encoder.encode(entry.data)) for entry in entries],
        )
        db.conn.execute(
            "INSERT INTO journal_positions (system, entry_type, entry_timestamp, keys_json, receiver, read_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (system, entry_type) DO UPDATE SET "
            "entry_timestamp = excluded.entry_timestamp, keys_json = excluded.keys_json, "
            "receiver = excluded.receiver, read_at = excluded.read_at",
            [system, entry_type, new_position.timestamp, json.dumps(list(new_position.keys)), new_position.receiver]
            + [now],
        )
        db.conn.execute(
            "DELETE FROM journal_entries WHERE system = ? AND entry_type = ? AND entry_timestamp < ?",
            [system, entry_type, forget_before],
        )


def any_before(storage: Storage, system: str, entry_type: str, before: str) -> bool:
    """Whether an entry older than `before` is still kept."""
    with storage.reading() as db:
        row = db.execute(
            "SELECT 1 FROM journal_entries WHERE system = ? AND entry_type = ? AND entry_timestamp < ? LIMIT 1",
            [system, entry_type, before],
        ).fetchone()
    return row is not None


def entries_since(storage: Storage, system: str, entry_type: str, since: str) -> list[StoredEntry]:
    """The entries kept from `since` on, oldest first."""
    with storage.reading() as db:
        rows = db.execute(
            "SELECT entry_key, entry_timestamp, entry_json FROM journal_entries "
            "WHERE system = ? AND entry_type = ? AND entry_timestamp >= ? ORDER BY entry_timestamp, entry_key",
            [system, entry_type, since],
        ).fetchall()
    return [StoredEntry(key, timestamp, json.loads(data)) for key, timestamp, data in rows]
