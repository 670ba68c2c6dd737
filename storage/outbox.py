"""The Slack outbox: every post and edit the bot makes, queued durably before it is sent.

Two tables (migration ``m002_outbox``):

- ``outbox``: one row per Slack call to make (``chat.postMessage`` or ``chat.update``), in the
  order it was enqueued. ``channel`` is the queue the row waits in: rows of one channel are sent
  strictly in ``id`` order, one after the other. A row moves ``pending`` → ``sending`` (just
  before the API call) → ``sent`` or ``failed``; a failure Slack may recover from moves it back to
  ``pending`` with a later ``next_attempt_at`` and a ``hold`` saying why it waits: ``backoff`` (5xx,
  a dropped connection), ``rate_limited`` (429) or ``parked`` (an error only a person can fix, such
  as the bot not being in the channel; the row holds its channel until it is sent).
  A queued edit (``chat.update`` not yet being sent) is replaced by a newer edit of the same message:
  at most one edit per message waits.
- ``sent_messages``: the ``(channel, ts)`` Slack answered for every post enqueued with a
  ``message_key``, so later rows can reply in its thread (``thread_key``) or edit it
  (``target_key``). A later post under the same key replaces the entry (the newest message wins).

Keys name messages, not rows: an alert can enqueue its post and, in the same transaction, a
reply in its thread and an edit of it, before anything was sent. The worker
(``bot/slack/delivery.py``) resolves the keys when each row comes up.

Times are seconds since the epoch (floats), so the worker can run on an injected clock.
Every function holds ``storage.lock``; ``enqueue`` does not begin or commit a transaction of its
own, so it becomes part of the caller's ``storage.transaction()`` when there is one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from storage.database import Storage

POST = "chat.postMessage"
UPDATE = "chat.update"
METHODS = (POST, UPDATE)
STATES = ("pending", "sending", "sent", "failed")
UNSENT = ("pending", "sending")
BACKOFF, RATE_LIMITED, PARKED = "backoff", "rate_limited", "parked"  # why a pending row waits (its hold)
HOLDS = (BACKOFF, RATE_LIMITED, PARKED)
# Arguments the worker fills in from the row and the keys; a payload must not carry them.
RESERVED_ARGUMENTS = ("channel", "ts", "thread_ts", "token")
CONTENT_ARGUMENTS = ("text", "blocks", "attachments")

_COLUMNS = (
    "id, channel, method, payload, message_key, thread_key, target_key, state, enqueued_at, "
    "next_attempt_at, attempts, last_attempt_at, error, ts, finished_at, hold"
)

_HEADS = f"""
SELECT {_COLUMNS} FROM outbox WHERE id IN (
    SELECT MIN(id) FROM outbox WHERE state IN ('pending', 'sending') GROUP BY channel
) ORDER BY id
"""

_RECORD_SENT = """
INSERT INTO sent_messages (key, channel, ts, sent_at, outbox_id) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    channel = excluded.channel, ts = excluded.ts, sent_at = excluded.sent_at, outbox_id = excluded.outbox_id
"""


_PARKED_CHANNELS = """
SELECT head.channel, head.error, head.enqueued_at,
       (SELECT COUNT(*) FROM outbox AS waiting WHERE waiting.channel = head.channel
        AND waiting.state IN ('pending', 'sending'))
FROM outbox AS head WHERE head.id IN (
    SELECT MIN(id) FROM outbox WHERE state IN ('pending', 'sending') GROUP BY channel
) AND head.hold = 'parked' ORDER BY head.channel
"""


class ParkedChannel(NamedTuple):
    """A channel whose oldest unsent row is parked on ``error``: ``waiting`` rows wait, the oldest enqueued at
    ``oldest_enqueued_at``."""

    channel: str
    error: str
    waiting: int
    oldest_enqueued_at: float


class SentMessage(NamedTuple):
    """A message Slack accepted: the channel id it answered and the message's ``ts``."""

    channel: str
    ts: str


class KeyStatus(NamedTuple):
    """What became of the message recorded under a key.

    ``state`` is "sent" (``message`` is set), "waiting" (a post under the key is still queued),
    "failed" (its post failed permanently; ``error`` says why) or "unknown" (nothing was ever
    enqueued under it, or the rows were pruned before it was sent).
    """

    state: str
    message: SentMessage | None = None
    error: str | None = None


@dataclass(frozen=True)
class OutboxItem:
    """One queued Slack call (a row of ``outbox``)."""

    id: int
    channel: str
    method: str
    payload: dict[str, Any]
    message_key: str | None
    thread_key: str | None
    target_key: str | None
    state: str
    enqueued_at: float
    next_attempt_at: float
    attempts: int
    last_attempt_at: float | None
    error: str | None  # the last error seen (kept after a later success, for the record)
    ts: str | None  # the ts of the message posted or edited, once sent
    finished_at: float | None
    hold: str | None = None  # why a pending row waits: backoff, rate_limited or parked (None: it does not)

    @property
    def reference_key(self) -> str | None:
        """The key of the message this row depends on: the one it edits or replies to."""
        return self.target_key or self.thread_key

    def describe(self) -> str:
        """A short, secret-free description for logs: id, method, channel and keys."""
        parts = [f"outbox item {self.id} ({self.method} to {self.channel}"]
        for name in ("message_key", "thread_key", "target_key"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value}")
        return ", ".join(parts) + ")"


def enqueue(
    storage: Storage,
    channel: str,
    method: str,
    payload: dict[str, Any],
    *,
    message_key: str | None = None,
    thread_key: str | None = None,
    target_key: str | None = None,
    now: float,
) -> int:
    """Queue one Slack call and return its id; it is due at once (``now``).

    ``payload`` holds the API arguments except ``channel``, ``ts`` and ``thread_ts`` (``text``,
    ``blocks``, ``reply_broadcast``, ``unfurl_links`` …); slack_sdk Block Kit objects are stored as
    their JSON. A post may name the message it creates (``message_key``) and may reply in the thread
    of an earlier message (``thread_key``); an edit (``chat.update``) names the message it edits
    (``target_key``). The keys may refer to messages not sent yet. An edit replaces the content of
    an edit of the same message that is still queued (not being sent) and returns that row's id, so
    at most one edit per message waits. Raises ValueError for a call the worker could never make.
    """
    _check_call(channel, method, payload, message_key, thread_key, target_key)
    try:
        text = json.dumps(payload, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload cannot be stored as JSON: {exc}") from None
    with storage.lock:
        if method == UPDATE:
            queued = storage.db.execute(
                "SELECT id FROM outbox WHERE target_key = ? AND channel = ? AND state = 'pending' "
                "AND method = 'chat.update' ORDER BY id DESC LIMIT 1",
                [target_key, channel],
            ).fetchone()
            if queued is not None:
                storage.db.execute("UPDATE outbox SET payload = ? WHERE id = ?", [text, queued[0]])
                return int(queued[0])
        cursor = storage.db.execute(
            "INSERT INTO outbox (channel, method, payload, message_key, thread_key, target_key, state, "
            "enqueued_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            [channel, method, text, message_key, thread_key, target_key, now, now],
        )
        item_id = cursor.lastrowid
    assert item_id is not None
    return item_id


def sent_message(storage: Storage, key: str) -> SentMessage | None:
    """The message Slack accepted under ``key`` (the newest, if several were posted under it)."""
    with storage.lock:
        row = storage.db.execute("SELECT channel, ts FROM sent_messages WHERE key = ?", [key]).fetchone()
    return SentMessage(row[0], row[1]) if row else None


def key_status(storage: Storage, key: str) -> KeyStatus:
    """Whether the message under ``key`` was sent, is still queued, failed, or is unknown."""
    with storage.lock:
        message = sent_message(storage, key)
        if message is not None:
            return KeyStatus("sent", message)
        rows = storage.db.execute(
            "SELECT state, error FROM outbox WHERE message_key = ? ORDER BY id DESC", [key]
        ).fetchall()
    if any(state in UNSENT for state, _ in rows):
        return KeyStatus("waiting")
    failed = [error for state, error in rows if state == "failed"]
    if failed:
        return KeyStatus("failed", error=failed[0])
    return KeyStatus("unknown")


def pending_count(storage: Storage) -> int:
    """How many rows are not sent yet (nor failed)."""
    with storage.lock:
        return storage.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0]


def next_items(storage: Storage) -> list[OutboxItem]:
    """For each channel its oldest row not yet sent (nor failed), oldest first."""
    with storage.lock:
        rows = storage.db.execute(_HEADS).fetchall()
    return [_item(row) for row in rows]


def get_item(storage: Storage, item_id: int) -> OutboxItem | None:
    with storage.lock:
        row = storage.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", [item_id]).fetchone()
    return _item(row) if row else None


def items(storage: Storage, *, channel: str | None = None, state: str | None = None) -> list[OutboxItem]:
    """Rows in enqueue order, optionally only one channel's or one state's."""
    if state is not None and state not in STATES:
        raise ValueError(f"state {state!r} is not one of {', '.join(STATES)}")
    where, params = [], []
    if channel is not None:
        where.append("channel = ?")
        params.append(channel)
    if state is not None:
        where.append("state = ?")
        params.append(state)
    sql = f"SELECT {_COLUMNS} FROM outbox" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id"
    with storage.lock:
        rows = storage.db.execute(sql, params).fetchall()
    return [_item(row) for row in rows]


def mark_sending(storage: Storage, item_id: int, now: float) -> bool:
    """Record that the API call is about to be made (committed before the call)."""
    with storage.transaction() as db:
        cursor = db.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, last_attempt_at = ? "
            "WHERE id = ? AND state IN ('pending', 'sending')",
            [now, item_id],
        )
        return cursor.rowcount == 1


def claim(storage: Storage, item_id: int, now: float) -> OutboxItem | None:
    """Mark the row ``sending`` (committed before the call) and return it as stored now, so the call carries
    the newest content of a replaced edit; None when the row is no longer pending."""
    with storage.transaction():
        if not mark_sending(storage, item_id, now):
            return None
        return get_item(storage, item_id)


def mark_sent(storage: Storage, item_id: int, *, channel: str, ts: str, now: float) -> bool:
    """Record Slack's answer: the row is sent and, for a keyed post, the message is registered.

    ``channel`` is the channel id Slack answered (a DM's ``D…`` id when the row named a user).
    Returns False, changing nothing, when the row was already sent or failed.
    """
    with storage.transaction() as db:
        row = db.execute(
            "SELECT method, message_key FROM outbox WHERE id = ? AND state IN ('pending', 'sending')", [item_id]
        ).fetchone()
        if row is None:
            return False
        db.execute(
            "UPDATE outbox SET state = 'sent', ts = ?, finished_at = ?, hold = NULL WHERE id = ?", [ts, now, item_id]
        )
        method, message_key = row
        if method == POST and message_key:
            db.execute(_RECORD_SENT, [message_key, channel, ts, now, item_id])
        return True


def mark_retry(
    storage: Storage, item_id: int, next_attempt_at: float, error: str, *, hold: str = BACKOFF, attempt: bool = True
) -> bool:
    """Slack may take the row later: back to pending, due at ``next_attempt_at``, waiting for ``hold``.

    ``attempt=False``: the call does not count as an attempt (Slack asked the bot to wait, a 429).
    """
    if hold not in HOLDS:
        raise ValueError(f"hold {hold!r} is not one of {', '.join(HOLDS)}")
    with storage.transaction() as db:
        cursor = db.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?, error = ?, hold = ?, "
            "attempts = attempts - ? WHERE id = ? AND state IN ('pending', 'sending')",
            [next_attempt_at, error, hold, 0 if attempt else 1, item_id],
        )
        return cursor.rowcount == 1


def mark_parked(storage: Storage, item_id: int, retry_at: float, error: str) -> bool:
    """Slack refused the row for a reason a person must fix: it waits (holding its channel) until ``retry_at``
    or until ``retry_held`` makes it due. Returns True when the row was not parked before."""
    with storage.transaction() as db:
        row = db.execute("SELECT hold FROM outbox WHERE id = ?", [item_id]).fetchone()
        mark_retry(storage, item_id, retry_at, error, hold=PARKED)
        return row is not None and row[0] != PARKED


def retry_held(storage: Storage, now: float, holds: tuple[str, ...] = (BACKOFF, PARKED)) -> int:
    """Make the pending rows waiting for one of ``holds`` due at ``now`` (the cause may be fixed); how many."""
    marks = ", ".join("?" for _ in holds)
    with storage.transaction() as db:
        return db.execute(
            f"UPDATE outbox SET next_attempt_at = ? WHERE state = 'pending' AND hold IN ({marks}) "
            "AND next_attempt_at > ?",
            [now, *holds, now],
        ).rowcount


def parked_channels(storage: Storage) -> list[ParkedChannel]:
    """The channels whose oldest unsent row is parked, with the error and how many rows wait there."""
    with storage.lock:
        rows = storage.db.execute(_PARKED_CHANNELS).fetchall()
    return [ParkedChannel(channel, error or "", waiting, oldest) for channel, error, oldest, waiting in rows]


def mark_failed(storage: Storage, item_id: int, error: str, now: float) -> bool:
    """The row can never be sent: it stops blocking its channel and keeps ``error``."""
    with storage.transaction() as db:
        cursor = db.execute(
            "UPDATE outbox SET state = 'failed', error = ?, finished_at = ?, hold = NULL "
            "WHERE id = ? AND state IN ('pending', 'sending')",
            [error, now, item_id],
        )
        return cursor.rowcount == 1


def recover_interrupted(storage: Storage) -> list[OutboxItem]:
    """Put rows left ``sending`` by a process that stopped mid-call back to ``pending``; return them.

    Only the one worker of a database may call this, when it starts.
    """
    with storage.transaction() as db:
        rows = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE state = 'sending' ORDER BY id").fetchall()
        db.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'")
    return [_item(row) for row in rows]


def last_attempts(storage: Storage) -> dict[str, float]:
    """When the last API call was made, per channel (for pacing across a restart)."""
    with storage.lock:
        rows = storage.db.execute(
            "SELECT channel, MAX(last_attempt_at) FROM outbox WHERE last_attempt_at IS NOT NULL GROUP BY channel"
        ).fetchall()
    return {channel: at for channel, at in rows}


def prune(storage: Storage, finished_before: float) -> int:
    """Delete sent and failed rows finished before ``finished_before``; return how many went.

    ``sent_messages`` is kept: an alert may be edited or replied to long after its post.
    """
    with storage.transaction() as db:
        return db.execute(
            "DELETE FROM outbox WHERE state IN ('sent', 'failed') AND finished_at < ?", [finished_before]
        ).rowcount


def _check_call(
    channel: str,
    method: str,
    payload: dict[str, Any],
    message_key: str | None,
    thread_key: str | None,
    target_key: str | None,
) -> None:
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if not isinstance(channel, str) or not channel.strip():
        raise ValueError("channel must be a channel id, #name or user id, not empty")
    if not isinstance(payload, dict):
        raise ValueError(f"payload must be a dict of API arguments, not {type(payload).__name__}")
    reserved = [name for name in RESERVED_ARGUMENTS if name in payload]
    if reserved:
        raise ValueError(
            f"payload must not carry {', '.join(reserved)}: the channel is an argument of its own, "
            "and ts / thread_ts come from target_key / thread_key"
        )
    if not any(payload.get(name) for name in CONTENT_ARGUMENTS):
        raise ValueError(f"payload needs one of {', '.join(CONTENT_ARGUMENTS)} (Slack answers no_text otherwise)")
    for name, key in (("message_key", message_key), ("thread_key", thread_key), ("target_key", target_key)):
        if key is not None and (not isinstance(key, str) or not key):
            raise ValueError(f"{name} must be a non-empty string or None")
    if method == UPDATE:
        if target_key is None:
            raise ValueError("chat.update needs target_key: the key of the message to edit")
        if message_key is not None or thread_key is not None:
            raise ValueError("chat.update edits the message under target_key; message_key and thread_key are for posts")
    elif target_key is not None:
        raise ValueError("target_key is for chat.update; a post names its thread with thread_key")


def _json_default(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)  # slack_sdk.models objects (blocks, elements, attachments)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"payload value of type {type(value).__name__} cannot be stored as JSON")


def _item(row: tuple[Any, ...]) -> OutboxItem:
    (
        item_id,
        channel,
        method,
        payload,
        message_key,
        thread_key,
        target_key,
        state,
        enqueued_at,
        next_attempt_at,
        attempts,
        last_attempt_at,
        error,
        ts,
        finished_at,
        hold,
    ) = row
    return OutboxItem(
        id=item_id,
        channel=channel,
        method=method,
        payload=json.loads(payload),
        message_key=message_key,
        thread_key=thread_key,
        target_key=target_key,
        state=state,
        enqueued_at=enqueued_at,
        next_attempt_at=next_attempt_at,
        attempts=attempts,
        last_attempt_at=last_attempt_at,
        error=error,
        ts=ts,
        finished_at=finished_at,
        hold=hold,
    )
