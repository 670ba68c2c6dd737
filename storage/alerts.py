"""Alerts, the Slack messages they live in, and silences (the alert lifecycle's memory).

An alert is one finding's fingerprint over time. Times are seconds since the epoch (floats), so
the lifecycle can run on an injected clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from storage.database import Storage, StorageError

ALERT_STATES = ("open", "resolved")


@dataclass(frozen=True)
class AlertRecord:
    fingerprint: str
    system: str
    check: str
    subject: str
    severity: str
    title: str
    state: str  # "open" | "resolved"
    first_seen: float
    last_seen: float
    clean_runs: int = 0  # consecutive runs without the finding
    resolved_at: float | None = None
    last_notified_at: float | None = None  # when Slack last heard of it (post, reminder, reopen)
    finding: dict[str, Any] = field(default_factory=dict)  # the latest Finding.to_json()

    def with_changes(self, **changes: Any) -> AlertRecord:
        return replace(self, **changes)


@dataclass(frozen=True)
class AlertMessage:
    fingerprint: str
    channel: str
    message_key: str  # the outbox key of the Slack message the alert was posted in (its thread)


@dataclass(frozen=True)
class Silence:
    id: int
    matcher_kind: str  # "fingerprint" | "address"
    matcher: str
    reason: str
    author: str
    created_at: float
    expires_at: float
    ended_at: float | None = None

    def active(self, now: float) -> bool:
        return self.ended_at is None and now < self.expires_at


def _row_to_alert(row: dict[str, Any]) -> AlertRecord:
    return AlertRecord(
        fingerprint=row["fingerprint"],
        system=row["system"],
        check=row["check_id"],
        subject=row["subject"],
        severity=row["severity"],
        title=row["title"],
        state=row["state"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        clean_runs=row["clean_runs"],
        resolved_at=row["resolved_at"],
        last_notified_at=row["last_notified_at"],
        finding=json.loads(row["finding_json"]),
    )


def alerts_of(storage: Storage, system: str, check: str) -> dict[str, AlertRecord]:
    with storage.lock:
        rows = storage.db.query("SELECT * FROM alerts WHERE system = ? AND check_id = ?", [system, check])
        return {row["fingerprint"]: _row_to_alert(row) for row in rows}


def alert(storage: Storage, fingerprint: str) -> AlertRecord | None:
    with storage.reading() as db:
        rows = list(db.query("SELECT * FROM alerts WHERE fingerprint = ?", [fingerprint]))
    return _row_to_alert(rows[0]) if rows else None


def open_alerts(storage: Storage) -> list[AlertRecord]:
    with storage.reading() as db:
        rows = db.query("SELECT * FROM alerts WHERE state = 'open' ORDER BY system, check_id, first_seen")
        return [_row_to_alert(row) for row in rows]


_ALERT_COLUMNS = (
    "fingerprint",
    "system",
    "check_id",
    "subject",
    "severity",
    "title",
    "state",
    "first_seen",
    "last_seen",
    "clean_runs",
    "resolved_at",
    "last_notified_at",
    "finding_json",
)
# One prepared statement for every save: sqlite's cache keeps it compiled, and nothing reads the table's layout.
_UPSERT_ALERT = (
    f"INSERT INTO alerts ({', '.join(_ALERT_COLUMNS)}) VALUES ({', '.join('?' for _ in _ALERT_COLUMNS)}) "
    "ON CONFLICT (fingerprint) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _ALERT_COLUMNS[1:])
)
_TOUCH_ALERTS = "UPDATE alerts SET last_seen = ? WHERE fingerprint IN (SELECT value FROM json_each(?))"


def _finding_json(finding: dict[str, Any]) -> str:
    return json.dumps(finding, sort_keys=True, default=str)


def _alert_row(record: AlertRecord) -> tuple[Any, ...]:
    if record.state not in ALERT_STATES:
        raise ValueError(f"alert state {record.state!r} is not one of {ALERT_STATES}")
    return (
        record.fingerprint,
        record.system,
        record.check,
        record.subject,
        record.severity,
        record.title,
        record.state,
        record.first_seen,
        record.last_seen,
        record.clean_runs,
        record.resolved_at,
        record.last_notified_at,
        _finding_json(record.finding),
    )


def save_alert(storage: Storage, record: AlertRecord) -> None:
    row = _alert_row(record)
    with storage.lock:
        storage.db.execute(_UPSERT_ALERT, row)


def save_alerts(storage: Storage, changes: Sequence[tuple[AlertRecord, AlertRecord | None]]) -> None:
    """Each (record, its stored state before) that changed, saved; unchanged ones are not rewritten, and those
    that changed only in `last_seen` are moved on together, in one statement per `last_seen`."""
    rows = []
    seen: dict[float, list[str]] = {}
    for record, previous in changes:
        if previous is not None and _same_but_seen(record, previous):
            if record.last_seen != previous.last_seen:
                seen.setdefault(record.last_seen, []).append(record.fingerprint)
            continue
        rows.append(_alert_row(record))
    with storage.lock:
        if rows:
            storage.db.conn.executemany(_UPSERT_ALERT, rows)
        for last_seen, fingerprints in seen.items():
            storage.db.execute(_TOUCH_ALERTS, [last_seen, json.dumps(fingerprints)])


def _same_but_seen(record: AlertRecord, previous: AlertRecord) -> bool:
    """Whether `record` is `previous` but for `last_seen` (the finding compared as it is stored)."""
    if replace(record, last_seen=previous.last_seen, finding=previous.finding) != previous:
        return False
    return record.finding == previous.finding or _finding_json(record.finding) == _finding_json(previous.finding)


def add_message(storage: Storage, message: AlertMessage) -> None:
    with storage.lock:
        storage.db.execute(
            "INSERT OR REPLACE INTO alert_messages (fingerprint, channel, message_key) VALUES (?, ?, ?)",
            [message.fingerprint, message.channel, message.message_key],
        )


def messages_of(storage: Storage, fingerprint: str) -> list[AlertMessage]:
    with storage.reading() as db:
        rows = db.query(
            "SELECT fingerprint, channel, message_key FROM alert_messages WHERE fingerprint = ? ORDER BY channel",
            [fingerprint],
        )
        return [AlertMessage(**row) for row in rows]


def messages_of_check(storage: Storage, system: str, check: str) -> dict[str, list[AlertMessage]]:
    """Where each alert of one system and check was posted, in one query: fingerprint → its messages."""
    with storage.lock:
        rows = storage.db.query(
            "SELECT m.fingerprint, m.channel, m.message_key FROM alert_messages m "
            "JOIN alerts a ON a.fingerprint = m.fingerprint WHERE a.system = ? AND a.check_id = ? "
            "ORDER BY m.fingerprint, m.channel",
            [system, check],
        )
        messages: dict[str, list[AlertMessage]] = {}
        for row in rows:
            messages.setdefault(row["fingerprint"], []).append(AlertMessage(**row))
        return messages


def alerts_in_message(storage: Storage, message_key: str) -> list[AlertRecord]:
    with storage.reading() as db:
        rows = db.query(
            "SELECT a.* FROM alerts a JOIN alert_messages m ON m.fingerprint = a.fingerprint "
            "WHERE m.message_key = ? ORDER BY a.first_seen, a.fingerprint",
            [message_key],
        )
        return [_row_to_alert(row) for row in rows]


def add_silence(
    storage: Storage, matcher_kind: str, matcher: str, reason: str, author: str, created_at: float, expires_at: float
) -> Silence:
    if matcher_kind not in ("fingerprint", "address"):
        raise ValueError(f"silence matcher {matcher_kind!r} is not 'fingerprint' or 'address'")
    with storage.lock:
        table = storage.db.table("silences")
        table.insert(
            {
                "matcher_kind": matcher_kind,
                "matcher": matcher,
                "reason": reason,
                "author": author,
                "created_at": created_at,
                "expires_at": expires_at,
                "ended_at": None,
            }
        )
        silence_id = table.last_pk
        if not isinstance(silence_id, int):
            raise StorageError(f"the silences table gave no row id for the new silence (got {silence_id!r})")
        return Silence(silence_id, matcher_kind, matcher, reason, author, created_at, expires_at)


def active_silences(storage: Storage, now: float) -> list[Silence]:
    """Silences not ended and not expired: expiry needs no job, it is a comparison with the clock."""
    with storage.reading() as db:
        rows = db.query("SELECT * FROM silences WHERE ended_at IS NULL AND expires_at > ? ORDER BY id", [now])
        return [Silence(**row) for row in rows]


def end_silence(storage: Storage, silence_id: int, now: float) -> bool:
    with storage.lock:
        cursor = storage.db.execute(
            "UPDATE silences SET ended_at = ? WHERE id = ? AND ended_at IS NULL", [now, silence_id]
        )
        return cursor.rowcount == 1
