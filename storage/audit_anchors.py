"""Heads of the audit log anchored outside the host, and the local record of each one posted.

An anchor is the head at one moment, ``SEQ:HASH``: the number of rows and the hash of the last one.
Posted where the bot host cannot take it back (a Slack channel), it pins every row up to ``SEQ``:
each row's hash covers the hash of the row before it, so no row at or before ``SEQ`` can change,
nor disappear, without row ``SEQ``'s hash changing too. `record` keeps a copy of each anchor here
(table ``audit_anchors``, append-only by trigger) so that `storage.audit_verify` checks them all
without being told, as long as nobody rewrote this table too; the copy in Slack is the one to trust.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.database import Storage

HEAD_FORM = "SEQ:HASH as posted to the audit channel, e.g. 57:3f2a… (a row number, ':', 64 hex digits)"
_HEAD = re.compile(r"(\d{1,18}):([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class Anchor:
    id: int
    seq: int  # the number of rows in the log when it was anchored
    hash: str  # the hash of row `seq`
    at: float  # seconds since the epoch
    channel: str
    outbox_id: int | None

    @property
    def head(self) -> str:
        return format_head(self.seq, self.hash)


def format_head(seq: int, head_hash: str) -> str:
    return f"{seq}:{head_hash}"


def parse_head(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` → (seq, lower-case hash). Raises ValueError saying what is accepted."""
    match = _HEAD.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not an audit head; expected {HEAD_FORM}")
    return int(match.group(1)), match.group(2).lower()


def current_head(storage: Storage) -> tuple[int, str] | None:
    """The head the log records now (rows, hash of the last row); None when nothing was ever written."""
    with storage.lock:
        row = storage.db.execute("SELECT rows, hash FROM audit_head WHERE id = 1").fetchone()
    return (row[0], row[1]) if row else None


def record(storage: Storage, seq: int, head_hash: str, at: float, channel: str, outbox_id: int | None) -> Anchor:
    """Remember that head ``seq:head_hash`` was sent to ``channel`` (in the caller's transaction, if any)."""
    with storage.lock:
        cursor = storage.db.execute(
            "INSERT INTO audit_anchors (seq, hash, at, channel, outbox_id) VALUES (?, ?, ?, ?, ?)",
            [seq, head_hash, at, channel, outbox_id],
        )
    assert cursor.lastrowid is not None
    return Anchor(cursor.lastrowid, seq, head_hash, at, channel, outbox_id)


def latest(storage: Storage) -> Anchor | None:
    with storage.lock:
        row = storage.db.execute(f"SELECT {_COLUMNS} FROM audit_anchors ORDER BY id DESC LIMIT 1").fetchone()
    return Anchor(*row) if row else None


def first_broken(storage: Storage, up_to_id: int | None) -> Anchor | None:
    """The anchor with the lowest ``seq`` (among ids up to `up_to_id`) whose row is missing or differs."""
    if up_to_id is None:
        return None
    with storage.lock:
        row = storage.db.execute(
            f"SELECT {_PREFIXED} FROM audit_anchors a LEFT JOIN audit r ON r.id = a.seq "
            "WHERE a.id <= ? AND r.hash IS NOT a.hash ORDER BY a.seq, a.id LIMIT 1",
            [up_to_id],
        ).fetchone()
    return Anchor(*row) if row else None


def last_intact_before(storage: Storage, seq: int) -> int | None:
    """The highest anchored ``seq`` below `seq` whose row still has the anchored hash."""
    with storage.lock:
        row = storage.db.execute(
            "SELECT max(a.seq) FROM audit_anchors a JOIN audit r ON r.id = a.seq AND r.hash = a.hash WHERE a.seq < ?",
            [seq],
        ).fetchone()
    return row[0] if row else None


_COLUMNS = "id, seq, hash, at, channel, outbox_id"
_PREFIXED = ", ".join(f"a.{column.strip()}" for column in _COLUMNS.split(","))
