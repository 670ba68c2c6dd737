"""Alerts, the Slack messages they live in, and silences (the alert lifecycle's memory).

An alert is one finding's fingerprint over time. Times are seconds since the epoch (floats), so
the lifecycle can run on an injected clock.
"""

from __future__ import annotations

import json
import operator
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
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
        """A copy with some fields changed (the lifecycle makes one per alert per run: kept cheap)."""
        if not _RECORD_FIELDS.issuperset(changes):
            raise TypeError(f"AlertRecord has no field {sorted(changes.keys() - _RECORD_FIELDS)[0]!r}")
        changed = object.__new__(AlertRecord)
        changed.__dict__.update(self.__dict__)
        changed.__dict__.update(changes)
        return changed


_RECORD_FIELDS = frozenset(f.name for f in fields(AlertRecord))


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
        last_seen=_last_seen(row["state"], row["clean_runs"], row["last_seen"], row["check_seen_at"]),
        clean_runs=row["clean_runs"],
        resolved_at=row["resolved_at"],
        last_notified_at=row["last_notified_at"],
        finding=json.loads(row["finding_json"]),
    )


def _last_seen(state: str, clean_runs: int, written: float, check_seen_at: float | None) -> float:
    """An open alert that no run has missed was seen by its check's last run, which is not written into each
    alert (an unchanged run rewrites none of them); otherwise what was written."""
    if state == "open" and clean_runs == 0 and check_seen_at is not None:
        return max(written, check_seen_at)
    return written


# Every read of whole alerts: the time of their check's last run comes along (see _last_seen).
_SELECT_ALERTS = (
    "SELECT a.*, c.seen_at AS check_seen_at FROM alerts a "
    "LEFT JOIN alert_checks c ON c.system = a.system AND c.check_id = a.check_id"
)


def alerts_of(storage: Storage, system: str, check: str) -> dict[str, AlertRecord]:
    with storage.reading() as db:
        rows = db.query(f"{_SELECT_ALERTS} WHERE a.system = ? AND a.check_id = ?", [system, check])
        return {row["fingerprint"]: _row_to_alert(row) for row in rows}


def alert(storage: Storage, fingerprint: str) -> AlertRecord | None:
    with storage.reading() as db:
        rows = list(db.query(f"{_SELECT_ALERTS} WHERE a.fingerprint = ?", [fingerprint]))
    return _row_to_alert(rows[0]) if rows else None


def open_alerts(storage: Storage) -> list[AlertRecord]:
    with storage.reading() as db:
        rows = db.query(f"{_SELECT_ALERTS} WHERE a.state = 'open' ORDER BY a.system, a.check_id, a.first_seen")
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
_ADD_MESSAGE = "INSERT OR REPLACE INTO alert_messages (fingerprint, channel, message_key) VALUES (?, ?, ?)"
_CHECK_TOKEN = "SELECT seen_at, token FROM alert_checks WHERE system = ? AND check_id = ?"
_NEW_TOKEN = (
    "INSERT INTO alert_checks (system, check_id, token) VALUES (?, ?, ?) "
    "ON CONFLICT (system, check_id) DO UPDATE SET token = excluded.token"
)
_SEEN = (
    "INSERT INTO alert_checks (system, check_id, seen_at, token) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (system, check_id) DO UPDATE SET seen_at = excluded.seen_at, token = excluded.token"
)


# One encoder for every save (json.dumps with options builds a new one per call).
_FINDING_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def _finding_json(finding: dict[str, Any]) -> str:
    return _FINDING_ENCODER.encode(finding)


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


# --- The alerts of each system and check, kept in memory ------------------------------------------------------
#
# The lifecycle reads every alert of a system and check at each run. Reading them from the database each time
# costs more than the rest of the run, so the alerts of each (system, check) are read once and kept, and every
# write below keeps the copy in step. Each write also gives the (system, check) a new token in the database, in
# the same transaction: a copy whose token is not the stored one (a transaction rolled back, another process
# wrote, retention forgot alerts) is read again. The database stays the truth.


@dataclass
class CheckAlerts:
    """The alerts of one system and check (fingerprint → record) and where each was posted."""

    records: dict[str, AlertRecord]
    messages: dict[str, tuple[AlertMessage, ...]]
    seen_at: float | None  # when its last run was taken in
    token: str | None


_KEPT: weakref.WeakKeyDictionary[Storage, dict[tuple[str, str], CheckAlerts]] = weakref.WeakKeyDictionary()


def check_alerts(storage: Storage, system: str, check: str) -> CheckAlerts:
    """The alerts of one system and check, read from the database only when the copy kept is not the truth.
    Call it in a write transaction; the records and messages returned are not to be changed."""
    with storage.lock:
        row = storage.db.execute(_CHECK_TOKEN, [system, check]).fetchone()
        seen_at, token = row if row is not None else (None, None)
        kept = _KEPT.setdefault(storage, {})
        cached = kept.get((system, check))
        if cached is not None and token is not None and cached.token == token:
            return cached
        records = alerts_of(storage, system, check)
        loaded = CheckAlerts(records, {}, seen_at, token)
        for fingerprint, messages in messages_of_check(storage, system, check).items():
            loaded.messages[fingerprint] = tuple(messages)
        kept[(system, check)] = loaded
        return loaded


def _renew_tokens(storage: Storage, pairs: set[tuple[str, str]]) -> None:
    """A write to the alerts of these (system, check) pairs: a new token for each, in the database and in the
    copy kept (which the caller has just brought in step)."""
    kept = _KEPT.get(storage, {})
    for system, check in pairs:
        token = uuid.uuid4().hex
        storage.db.execute(_NEW_TOKEN, [system, check, token])
        if (system, check) in kept:
            kept[(system, check)].token = token


def mark_seen(storage: Storage, system: str, check: str, now: float) -> None:
    """A run of `check` on `system` was taken in at `now`: its open alerts that no run has missed were seen then."""
    token = uuid.uuid4().hex
    with storage.transaction():
        storage.db.execute(_SEEN, [system, check, now, token])
        cached = _KEPT.get(storage, {}).get((system, check))
        if cached is not None:
            cached.seen_at, cached.token = now, token


def forget_kept(storage: Storage) -> None:
    """Drop every copy kept in memory (alerts written or deleted other than through this module)."""
    with storage.lock:
        _KEPT.pop(storage, None)


def save_alert(storage: Storage, record: AlertRecord) -> None:
    _write(storage, [record])


def save_alerts(storage: Storage, changes: Sequence[tuple[AlertRecord, AlertRecord | None]]) -> None:
    """Each (record, its stored state before) that changed, saved; unchanged ones are not rewritten, nor those
    that changed only in `last_seen` while open and seen by the run (their check's run time says it)."""
    records = []
    kept = _KEPT.get(storage, {})
    for record, previous in changes:
        if previous is not None:
            if record is previous:
                continue
            if _same_but_seen(record, previous) and (record.state == "open" and record.clean_runs == 0):
                _keep(kept, record)
                continue
            if previous.state == "open" and previous.clean_runs == 0:  # seen by the run before, at the latest
                seen_at = _seen_at(storage, record.system, record.check)
                if seen_at is not None and seen_at > record.last_seen:
                    record = record.with_changes(last_seen=seen_at)
        records.append(record)
    _write(storage, records)


def _write(storage: Storage, records: Sequence[AlertRecord]) -> None:
    if not records:
        return
    rows = [_alert_row(record) for record in records]
    with storage.transaction():
        storage.db.conn.executemany(_UPSERT_ALERT, rows)
        kept = _KEPT.get(storage, {})
        for record in records:
            _keep(kept, record)
        _renew_tokens(storage, {(record.system, record.check) for record in records})


def _keep(kept: dict[tuple[str, str], CheckAlerts], record: AlertRecord) -> None:
    cached = kept.get((record.system, record.check))
    if cached is not None:
        cached.records[record.fingerprint] = record


def _seen_at(storage: Storage, system: str, check: str) -> float | None:
    cached = _KEPT.get(storage, {}).get((system, check))
    if cached is not None:
        return cached.seen_at
    with storage.lock:
        row = storage.db.execute(_CHECK_TOKEN, [system, check]).fetchone()
    return row[0] if row is not None else None


def _same_but_seen(record: AlertRecord, previous: AlertRecord) -> bool:
    """Whether `record` is `previous` but for `last_seen` (the finding compared as it is stored)."""
    if _all_but_seen(record) != _all_but_seen(previous):
        return False
    return (
        record.finding is previous.finding
        or record.finding == previous.finding
        or _finding_json(record.finding) == _finding_json(previous.finding)
    )


# Every field but last_seen and finding, for telling whether a record changed in more than these.
_all_but_seen = operator.attrgetter(*(f.name for f in fields(AlertRecord) if f.name not in ("last_seen", "finding")))


def add_message(storage: Storage, message: AlertMessage) -> None:
    add_messages(storage, [message])


def add_messages(storage: Storage, messages: Sequence[AlertMessage]) -> None:
    """Alerts posted in messages: each (fingerprint, channel) lives in its message from now on."""
    if not messages:
        return
    with storage.transaction():
        storage.db.conn.executemany(_ADD_MESSAGE, [(m.fingerprint, m.channel, m.message_key) for m in messages])
        kept = _KEPT.get(storage, {})
        pairs = set()
        pair: tuple[str, str] | None = None
        for message in messages:
            if pair not in kept or message.fingerprint not in kept[pair].records:  # a group's alerts share one
                pair = _pair_of(storage, message.fingerprint)
            if pair is None:
                continue
            pairs.add(pair)
            if pair in kept:
                _keep_message(kept[pair], message)
        _renew_tokens(storage, pairs)


def _keep_message(cached: CheckAlerts, message: AlertMessage) -> None:
    known = cached.messages.get(message.fingerprint)
    if not known:
        cached.messages[message.fingerprint] = (message,)
        return
    channels = {m.channel: m for m in known}
    channels[message.channel] = message
    cached.messages[message.fingerprint] = tuple(channels[channel] for channel in sorted(channels))


def _pair_of(storage: Storage, fingerprint: str) -> tuple[str, str] | None:
    """The (system, check) of an alert, from a copy kept when there is one."""
    for pair, cached in _KEPT.get(storage, {}).items():
        if fingerprint in cached.records:
            return pair
    row = storage.db.execute("SELECT system, check_id FROM alerts WHERE fingerprint = ?", [fingerprint]).fetchone()
    return (row[0], row[1]) if row is not None else None


def messages_of(storage: Storage, fingerprint: str) -> list[AlertMessage]:
    with storage.reading() as db:
        rows = db.query(
            "SELECT fingerprint, channel, message_key FROM alert_messages WHERE fingerprint = ? ORDER BY channel",
            [fingerprint],
        )
        return [AlertMessage(**row) for row in rows]


def messages_of_check(storage: Storage, system: str, check: str) -> dict[str, list[AlertMessage]]:
    """Where each alert of one system and check was posted, in one query: fingerprint → its messages."""
    with storage.reading() as db:
        rows = db.query(
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
            f"{_SELECT_ALERTS} JOIN alert_messages m ON m.fingerprint = a.fingerprint "
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
