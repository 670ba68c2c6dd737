"""Forgetting what is older than the retention ([storage] retention), a small batch per transaction.

What goes: resolved alerts (with the records of the messages they were in), check runs (the newest of each
system and check is kept, for `/ibmi status`), sent and failed outbox rows, silences that ended or expired,
and the records of sent Slack messages that nothing refers to any more. Each batch is its own short write
transaction, so a large backlog never holds the write lock for long.

What stays: the audit log, its anchors, change requests and their approvals are sealed (triggers refuse
deletes); they are never pruned. Open alerts, unsent outbox rows and active silences stay whatever their age.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from storage.database import Storage

BATCH = 500

_RESOLVED_ALERTS = "SELECT fingerprint FROM alerts WHERE state = 'resolved' AND resolved_at < ? LIMIT ?"

_OLD_RUNS = """
DELETE FROM check_runs WHERE id IN (
    SELECT id FROM check_runs AS run WHERE started_at < ? AND EXISTS (
        SELECT 1 FROM check_runs AS newer
        WHERE newer.system = run.system AND newer.check_id = run.check_id AND newer.started_at > run.started_at
    ) LIMIT ?
)
"""

_FINISHED_OUTBOX = """
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox WHERE state IN ('sent', 'failed') AND finished_at < ? LIMIT ?
)
"""

_OVER_SILENCES = """
DELETE FROM silences WHERE id IN (
    SELECT id FROM silences WHERE (ended_at IS NOT NULL AND ended_at < ?1) OR expires_at < ?1 LIMIT ?2
)
"""

# a message is still referred to by an alert, a change request, or a queued reply or edit
_UNREFERENCED_MESSAGES = """
DELETE FROM sent_messages WHERE key IN (
    SELECT key FROM sent_messages AS sent WHERE sent_at < ?
    AND NOT EXISTS (SELECT 1 FROM alert_messages WHERE message_key = sent.key)
    AND NOT EXISTS (SELECT 1 FROM change_requests WHERE message_key = sent.key)
    AND NOT EXISTS (
        SELECT 1 FROM outbox WHERE state IN ('pending', 'sending') AND (thread_key = sent.key OR target_key = sent.key)
    )
    LIMIT ?
)
"""


def prune(storage: Storage, before: float, batch: int = BATCH) -> dict[str, int]:
    """Delete what is older than `before` (seconds since the epoch); returns how many rows went, per table."""
    if batch < 1:
        raise ValueError(f"batch must be 1 or more, not {batch}")
    runs_before = datetime.fromtimestamp(before, UTC).isoformat(timespec="microseconds")  # check_runs' text form
    return {
        "alerts": _in_batches(lambda: _resolved_alerts(storage, before, batch), batch),
        "check_runs": _in_batches(lambda: _delete(storage, _OLD_RUNS, [runs_before, batch]), batch),
        "outbox": _in_batches(lambda: _delete(storage, _FINISHED_OUTBOX, [before, batch]), batch),
        "silences": _in_batches(lambda: _delete(storage, _OVER_SILENCES, [before, batch]), batch),
        "sent_messages": _in_batches(lambda: _delete(storage, _UNREFERENCED_MESSAGES, [before, batch]), batch),
    }


def _in_batches(delete_batch: Callable[[], int], batch: int) -> int:
    total = 0
    while True:
        deleted = delete_batch()
        total += deleted
        if deleted < batch:
            return total


def _delete(storage: Storage, statement: str, parameters: list[object]) -> int:
    with storage.transaction() as db:
        return db.execute(statement, parameters).rowcount


def _resolved_alerts(storage: Storage, before: float, batch: int) -> int:
    with storage.transaction() as db:
        fingerprints = [row[0] for row in db.execute(_RESOLVED_ALERTS, [before, batch]).fetchall()]
        marks = ", ".join("?" for _ in fingerprints)
        if fingerprints:
            db.execute(f"DELETE FROM alert_messages WHERE fingerprint IN ({marks})", fingerprints)
            db.execute(f"DELETE FROM alerts WHERE fingerprint IN ({marks})", fingerprints)
            db.execute("UPDATE alert_checks SET token = NULL")  # the alerts kept in memory are read again
        return len(fingerprints)
