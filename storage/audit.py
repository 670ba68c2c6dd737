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
itself ``json.dumps(details, sort_keys=True, separators=(",", ":"))``. The one-row table
``audit_head`` holds the number of rows and the hash of the last one, written in the same
transaction as each row, so deleting the last rows (or all of them) is noticed too. Triggers
refuse UPDATE and DELETE on ``audit``.

What it protects against: anyone who edits, inserts or deletes rows with the SQLite file in
hand (dropping the triggers first) without recomputing every later hash and the head is
named by `verify`. Someone who rewrites the whole chain from the tampered row onwards, head
included, can only be caught against a copy of the head kept elsewhere: `verify` returns
the last hash so that it can be written down, posted or exported with `export_csv`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

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


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    rows: int  # rows in the log (up to the newest row when verify started)
    first_bad_id: int | None  # the first row that is wrong or missing; None when only the head is wrong
    problem: str | None  # what is wrong, in words
    last_hash: str = GENESIS  # the hash the head records: keep a copy elsewhere to catch a rewritten chain


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

    with storage.transaction() as db:
        # A write first: a transaction opened here takes SQLite's write lock before it reads
        # the head, so another process appending at the same moment waits for it.
        db.execute("INSERT INTO audit_head (id, rows, hash) VALUES (1, 0, ?) ON CONFLICT (id) DO NOTHING", [GENESIS])
        head_rows, prev_hash, last_id = db.execute(
            "SELECT rows, hash, (SELECT max(id) FROM audit) FROM audit_head WHERE id = 1"
        ).fetchone()
        # The new row links to what the head remembers, so a row deleted or a head rewritten
        # before this append stays visible to `verify` instead of being papered over.
        row_id = (last_id or 0) + 1
        digest = row_hash(row_id, at, actor, action, system, subject, outcome, details_json, prev_hash)
        db.execute(
            f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row_id, at, actor, action, system, subject, outcome, details_json, prev_hash, digest],
        )
        db.execute("UPDATE audit_head SET rows = ?, hash = ? WHERE id = 1", [head_rows + 1, digest])
    return AuditEvent(row_id, at, actor, action, system, subject, outcome, json.loads(details_json), prev_hash, digest)


def recent(storage: Storage, limit: int = 20) -> list[AuditEvent]:
    """The newest `limit` events, newest first."""
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    with storage.lock:
        rows = storage.db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id DESC LIMIT ?", [limit]).fetchall()
    return [_event(row) for row in rows]


def verify(storage: Storage) -> AuditVerification:
    """Walk the whole chain, oldest first, and compare its end with the head.

    Names the first row that is wrong: an edited row (its content no longer matches its
    hash), a row that does not link to the one before it (forged, or its predecessor
    rewritten), a row inserted between two others, the row after a gap left by deleted rows,
    rows added without the head, or the missing rows when the last ones were deleted. When
    only the head is wrong, `first_bad_id` is None and `problem` says so.

    Rows appended while it runs are left for the next verification. The lock is released
    between chunks of rows, so the bot keeps working during a long walk.
    """
    with storage.lock:  # one statement, so the head and the rows are read from the same snapshot
        head_rows, head_hash, last_id, rows_found = storage.db.execute(
            "SELECT (SELECT rows FROM audit_head WHERE id = 1), (SELECT hash FROM audit_head WHERE id = 1), "
            "(SELECT max(id) FROM audit), (SELECT count(*) FROM audit)"
        ).fetchone()

    def bad(first_bad_id: int | None, problem: str) -> AuditVerification:
        return AuditVerification(False, rows_found, first_bad_id, problem, head_hash or GENESIS)

    expected_id = 1
    prev, prev_prev = GENESIS, None  # the hashes of the last two rows walked
    hash_at_head_rows = GENESIS if not head_rows else None
    for row in _rows(storage, last_id):
        row_id, stored_prev, stored_hash = row[0], row[8], row[9]
        if row_id != expected_id:
            if isinstance(row_id, int) and row_id > expected_id:
                missing = _span(expected_id, row_id - 1)
                where = (
                    f"row {row_id} follows row {expected_id - 1}"
                    if expected_id > 1
                    else f"the log starts at row {row_id}"
                )
                return bad(row_id, f"{missing} missing (deleted): {where}")
            return bad(row_id, f"row id {row_id!r} is out of sequence: expected {expected_id}")
        if stored_prev != prev and prev_prev is not None and stored_prev == prev_prev:
            before = f"row {row_id - 2}" if row_id > 2 else "the start of the log"
            return bad(row_id - 1, f"row {row_id - 1} was inserted: row {row_id} links straight to {before}")
        if _content_hash(row) != stored_hash:
            return bad(row_id, f"row {row_id} was edited (or renumbered): its content no longer matches its hash")
        if stored_prev != prev:
            return bad(
                row_id,
                f"row {row_id} does not link to row {row_id - 1} (its prev_hash is not that row's "
                f"hash): row {row_id} was forged, or row {row_id - 1} rewritten",
            )
        prev_prev, prev = prev, stored_hash
        if row_id == head_rows:
            hash_at_head_rows = stored_hash
        expected_id += 1

    if head_rows is None:
        if rows_found:
            return bad(None, f"the audit head is missing, but the log has {rows_found} rows: it was deleted")
        return AuditVerification(True, 0, None, None, GENESIS)
    if head_rows == rows_found and head_hash == prev:
        return AuditVerification(True, rows_found, None, None, head_hash)
    if head_rows > rows_found:
        missing = _span(rows_found + 1, head_rows)
        return bad(
            rows_found + 1,
            f"the head records {head_rows} rows but the log has {rows_found}: "
            f"{missing} missing (deleted from the end of the log)",
        )
    if head_rows < rows_found and head_hash == hash_at_head_rows:
        return bad(
            head_rows + 1,
            f"the head records {head_rows} rows but the log has {rows_found}: "
            f"row {head_rows + 1} onwards were added without the head",
        )
    return bad(
        None,
        f"the audit head does not match the log: it records {head_rows} rows ending in "
        f"{_short(head_hash)}, the log has {rows_found} rows ending in {_short(prev)}: "
        "the head was rewritten",
    )


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
    for row in _rows(storage, last_id):
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
) -> str:
    """The SHA-256 (hex) of a row's canonical form: see the module's documentation."""
    canonical = json.dumps(
        [row_id, at, actor, action, system, subject, outcome, details_json, prev_hash],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def iso_utc(at: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with microseconds and a ``Z``."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _rows(storage: Storage, last_id: int | None) -> Iterator[tuple[Any, ...]]:
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


def _content_hash(row: tuple[Any, ...]) -> str | None:
    try:
        return row_hash(*row[:9])
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


def _span(first: int, last: int) -> str:
    return f"row {first} is" if first == last else f"rows {first}–{last} are"


def _csv_time(at: Any) -> Any:
    try:
        return iso_utc(at)
    except (TypeError, ValueError, OverflowError, OSError):  # not a time an append writes: show it as stored
        return at


def _short(digest: str | None) -> str:
    return f"{digest[:12]}…" if digest else "(none)"
