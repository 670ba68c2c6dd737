"""The audit log: append-only, every row chained to the one before it by SHA-256.

Everything that decides or changes something is recorded here, successful or not. The
actions the bot records (free text, so a new one needs no schema change):

- ``request``    an operator asked for a change (subject: the request id)
- ``approve``    an approver approved it
- ``reject``     an approver rejected it
- ``execute``    the CL command ran; outcome ``ok`` or the IBM i message, e.g. ``CPF9801: …``
- ``expire``     a request waited past its TTL
- ``unknown``    the bot stopped while a command was executing; nobody knows whether it ran
- ``silence`` / ``unsilence``  an alert or an address was silenced, or the silence ended
- ``trust`` / ``untrust``      a network was added to or removed from a system's trust list
- ``refused``    an attempt that was turned down: wrong role, approving one's own request,
  an expired or already decided request … (outcome ``refused: <why>``)

``actor`` is who did it (a Slack user id, or ``bot`` for the bot itself), ``system`` the IBM i
system when there is one, ``subject`` what it was done to (a request id, an address, an alert
fingerprint), ``outcome`` ``ok`` or what went wrong, ``details`` a small JSON object (the CL
command, a reason …). Secrets never belong here: `append` refuses details with keys such as
``password`` or ``token`` and any text that looks like a Slack token.

How the chain works. Row ``n`` stores ``prev_hash`` (the ``hash`` of row ``n - 1``, or
`GENESIS` for row 1) and its own ``hash``, the SHA-256 (lower-case hex) of the UTF-8 bytes of::

    json.dumps([id, at, actor, action, system, subject, outcome, details_json, prev_hash],
               sort_keys=True, separators=(",", ":"))

where ``at`` is the float of seconds since the epoch and ``details_json`` the stored text,
itself ``json.dumps(details, sort_keys=True, separators=(",", ":"))``. When the bot runs with
``WARDEN_AUDIT_KEY`` (`use_key`), rows are hashed with HMAC-SHA256 under that key instead, from
the row the head records as ``keyed_from`` on (`storage.audit_key`). The one-row table
``audit_head`` holds the number of rows and the hash of the last one (and, keyed, a MAC of
both), written in the same transaction as each row, so deleting the last rows (or all of
them) is noticed too. Triggers refuse UPDATE and DELETE on ``audit`` and ``audit_head``, an
INSERT (or INSERT OR REPLACE) that is not the next row linked to the head, and a head that
does not follow the rows.

What it protects against is for `storage.audit_verify` to say: in short, edits by anyone
without the key are named; a rewrite by someone holding the key (or of an unkeyed log) is
caught against a head anchored outside the host (`storage.audit_anchors`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from storage import audit_key
from storage.database import Storage

GENESIS = "0" * 64
CSV_COLUMNS = ("id", "at", "actor", "action", "system", "subject", "outcome", "details_json", "prev_hash", "hash")

_COLUMNS = ", ".join(CSV_COLUMNS)
_CHUNK = 1000
_YEAR_10000 = 253402300800.0
# keys of `details` (compared lower-case, without "_", "-", " " or ".") that hold secrets
_SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "credential",
    "privatekey",
    "authorization",
    "cookie",
)
_SECRET_KEYS = {"pwd", "pass", "pin", "auth"}
_SLACK_TOKEN = re.compile(r"\bxox[abeoprs]-[0-9A-Za-z-]{6,}|\bxapp-\d-[0-9A-Za-z-]{6,}")


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: float  # seconds since the epoch
    actor: str
    action: str
    system: str | None
    subject: str
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def at_text(self) -> str:
        """``at`` as ISO 8601 UTC with microseconds, e.g. ``2026-11-28T00:12:03.000000Z``."""
        return iso_utc(self.at)


def append(
    storage: Storage,
    *,
    actor: str,
    action: str,
    subject: str,
    outcome: str,
    system: str | None = None,
    details: dict[str, Any] | None = None,
    at: float,
) -> AuditEvent:
    """Record one event at the end of the chain and return it.

    May be called inside the caller's own `storage.transaction()`, so that the event is
    written together with the change it records (and rolled back with it).

    Raises ValueError for an empty actor, action or outcome, an `at` that is not seconds
    since the epoch (before the year 10000), details that are not JSON, or anything that
    looks like a secret.
    """
    for name, value in (("actor", actor), ("action", action), ("outcome", outcome)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    if not isinstance(subject, str):
        raise ValueError(f"subject must be a string, not {subject!r}")
    if system is not None and not isinstance(system, str):
        raise ValueError(f"system must be a string or None, not {system!r}")
    if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < _YEAR_10000:
        raise ValueError(f"at must be seconds since the epoch (a time.time() value), not {at!r}")
    details = {} if details is None else details
    if not isinstance(details, dict):
        raise ValueError(f"details must be a dict, not {type(details).__name__}")
    _refuse_secrets(details, "details")
    texts: tuple[tuple[str, str | None], ...] = (
        ("actor", actor),
        ("subject", subject),
        ("outcome", outcome),
        ("system", system),
    )
    for label, text in texts:
        if text and _SLACK_TOKEN.search(text):
            raise ValueError(f"{label} looks like it contains a Slack token; secrets never go in the audit log")
    try:
        details_json = json.dumps(details, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"details must be JSON (strings, numbers, booleans, null, lists, objects): {exc}") from None
    at = float(at)

    key = storage.audit_key
    with storage.transaction() as db:
        _ensure_head(db)
        head_rows, prev_hash, keyed_from, stored_check, last_id = db.execute(
            "SELECT rows, hash, keyed_from, key_check, (SELECT max(id) FROM audit) FROM audit_head WHERE id = 1"
        ).fetchone()
        audit_key.require_key_for(stored_check, key)
        if key is not None and stored_check is None:
            keyed_from = _key_head(db, key, head_rows, prev_hash)
        # The new row links to what the head remembers, so a row deleted or a head rewritten
        # before this append stays visible to `verify` instead of being papered over.
        row_id = (last_id or 0) + 1
        row_key = key if keyed_from is not None else None
        digest = row_hash(row_id, at, actor, action, system, subject, outcome, details_json, prev_hash, key=row_key)
        db.execute(
            f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row_id, at, actor, action, system, subject, outcome, details_json, prev_hash, digest],
        )
        mac = audit_key.head_mac(row_key, head_rows + 1, digest, keyed_from) if row_key and keyed_from else None
        db.execute("UPDATE audit_head SET rows = ?, hash = ?, mac = ? WHERE id = 1", [head_rows + 1, digest, mac])
    return AuditEvent(row_id, at, actor, action, system, subject, outcome, json.loads(details_json), prev_hash, digest)


def use_key(storage: Storage, key: bytes | None) -> None:
    """Write every later row with `key` (HMAC-SHA256), or unkeyed with None.

    An unkeyed log is keyed at once: the head records that rows from the next one on are keyed.
    Raises AuditKeyError, changing nothing, when the log is keyed and `key` is None or another key.
    """
    with storage.transaction() as db:
        row = db.execute("SELECT rows, hash, key_check FROM audit_head WHERE id = 1").fetchone()
        if row is None and key is not None:
            _ensure_head(db)
            row = (0, GENESIS, None)
        if row is not None:
            audit_key.require_key_for(row[2], key)
            if key is not None and row[2] is None:
                _key_head(db, key, row[0], row[1])
        storage.audit_key = key


def _ensure_head(db: Any) -> None:
    # A write first (even when it inserts nothing): a transaction opened here takes SQLite's write
    # lock before it reads the head, so another process appending at the same moment waits for it.
    db.execute(
        "INSERT INTO audit_head (id, rows, hash) SELECT 1, 0, ? WHERE NOT EXISTS (SELECT 1 FROM audit_head)",
        [GENESIS],
    )


def _key_head(db: Any, key: bytes, rows: int, head_hash: str) -> int:
    """Record in the head that rows from the next one on are keyed; return that row's id."""
    keyed_from = rows + 1
    db.execute(
        "UPDATE audit_head SET keyed_from = ?, key_check = ?, mac = ? WHERE id = 1",
        [keyed_from, audit_key.key_check(key), audit_key.head_mac(key, rows, head_hash, keyed_from)],
    )
    return keyed_from


def recent(storage: Storage, limit: int = 20) -> list[AuditEvent]:
    """The newest `limit` events, newest first."""
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    with storage.lock:
        rows = storage.db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id DESC LIMIT ?", [limit]).fetchall()
    return [_event(row) for row in rows]


def export_csv(storage: Storage, out: TextIO) -> int:
    """Write a header and every row, oldest first, as CSV; return the number of rows written.

    Columns: id, at (ISO 8601 UTC), actor, action, system (empty when none), subject,
    outcome, details_json, prev_hash, hash. Rows appended during the export are left out.
    """
    with storage.lock:
        (last_id,) = storage.db.execute("SELECT max(id) FROM audit").fetchone()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    written = 0
    for row in rows_up_to(storage, last_id):
        values = list(row)
        values[1] = _csv_time(values[1])
        writer.writerow(values)
        written += 1
    return written


def row_hash(
    row_id: int,
    at: float,
    actor: str,
    action: str,
    system: str | None,
    subject: str,
    outcome: str,
    details_json: str,
    prev_hash: str,
    *,
    key: bytes | None = None,
) -> str:
    """The SHA-256 (hex) of a row's canonical form, or its HMAC-SHA256 with `key`: see the module's documentation."""
    canonical = json.dumps(
        [row_id, at, actor, action, system, subject, outcome, details_json, prev_hash],
        sort_keys=True,
        separators=(",", ":"),
    )
    return audit_key.digest(canonical, key)


def iso_utc(at: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with microseconds and a ``Z``."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def rows_up_to(storage: Storage, last_id: int | None) -> Iterator[tuple[Any, ...]]:
    """Every row up to `last_id`, oldest first, read in chunks so the lock is not held throughout."""
    if last_id is None:
        return
    after: int | None = None
    while True:
        with storage.lock:
            if after is None:
                chunk = storage.db.execute(
                    f"SELECT {_COLUMNS} FROM audit WHERE id <= ? ORDER BY id LIMIT ?", [last_id, _CHUNK]
                ).fetchall()
            else:
                chunk = storage.db.execute(
                    f"SELECT {_COLUMNS} FROM audit WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                    [after, last_id, _CHUNK],
                ).fetchall()
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1][0]


def content_hash(row: tuple[Any, ...], key: bytes | None = None) -> str | None:
    """The hash a stored row (in CSV_COLUMNS order) should carry; None when its values cannot be hashed."""
    try:
        return row_hash(*row[:9], key=key)
    except (TypeError, ValueError):  # a value of a type no append writes (a blob), so tampered
        return None


def _event(row: tuple[Any, ...]) -> AuditEvent:
    try:
        details = json.loads(row[7])
    except (TypeError, ValueError):
        details = {"details_json": row[7]}
    if not isinstance(details, dict):
        details = {"details_json": row[7]}
    return AuditEvent(row[0], row[1], row[2], row[3], row[4], row[5], row[6], details, row[8], row[9])


def _refuse_secrets(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be strings, not {key!r}")
            plain = re.sub(r"[\s_.-]", "", key.lower())
            if plain in _SECRET_KEYS or any(part in plain for part in _SECRET_KEY_PARTS):
                raise ValueError(f"{where}.{key}: secrets never go in the audit log")
            _refuse_secrets(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_secrets(item, f"{where}[{index}]")
    elif isinstance(value, str) and _SLACK_TOKEN.search(value):
        raise ValueError(f"{where} looks like a Slack token; secrets never go in the audit log")


def _csv_time(at: Any) -> Any:
    try:
        return iso_utc(at)
    except (TypeError, ValueError, OverflowError, OSError):  # not a time an append writes: show it as stored
        return at
