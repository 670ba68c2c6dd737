"""Verifying the audit log: the chain walked row by row, the head, the key, and the anchored heads.

What `verify` proves, and what it cannot:

- an unkeyed log (no ``WARDEN_AUDIT_KEY``): any edit, insertion or deletion of rows, or a moved
  head, made without recomputing every later hash and the head. Whoever recomputes them (anyone
  who can write the file) is caught only against a head anchored outside the host.
- a keyed log: every row from ``keyed_from`` on, and the head, carry HMACs under the key, so a
  rewrite, a truncation with the head set back, or a row forged by anyone without the key is named.
  Someone holding the key (root on the bot host while the bot runs, for instance) can rewrite
  the log and its head; an anchored head posted before the rewrite still catches it.
- an anchored head ``SEQ:HASH`` (given, or recorded in ``audit_anchors``): every row up to SEQ is
  present and unchanged, whoever holds the key; a log cut below SEQ, or rewritten up to SEQ, fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import audit_anchors
from storage.audit import GENESIS, content_hash, rows_up_to
from storage.audit_key import head_mac, key_check, same
from storage.database import Storage


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    rows: int  # rows in the log (up to the newest row when verify started)
    first_bad_id: int | None  # the first row that is wrong or missing; None when only the head is wrong
    problem: str | None  # what is wrong, in words
    last_hash: str = GENESIS  # the hash the head records: keep a copy elsewhere to catch a rewritten chain
    keyed_from: int | None = None  # the first row written with WARDEN_AUDIT_KEY; None: unkeyed
    needs_key: bool = False  # the log is keyed and no key was given: nothing could be vouched for


def verify(storage: Storage, *, key: bytes | None = None, anchor: tuple[int, str] | None = None) -> AuditVerification:
    """Walk the whole chain, oldest first; compare its end with the head and the anchored heads.

    `key` is WARDEN_AUDIT_KEY (default: the key the storage writes with); `anchor` a head
    ``(seq, hash)`` kept outside the host. Names the first row that is wrong: an edited row (its
    content no longer matches its hash), a row that does not link to the one before it (forged, or
    its predecessor rewritten), a row inserted between two others, the row after a gap left by
    deleted rows, rows added without the head, the missing rows when the last ones were deleted, or
    the rows an anchored head vouches for that are gone or differ. When only the head is wrong,
    `first_bad_id` is None and `problem` says so.

    Rows appended while it runs are left for the next verification. The lock is released
    between chunks of rows, so the bot keeps working during a long walk.
    """
    key = key if key is not None else storage.audit_key
    with storage.lock:  # one statement, so the head and the rows are read from the same snapshot
        head = storage.db.execute(
            "SELECT (SELECT rows FROM audit_head WHERE id = 1), (SELECT hash FROM audit_head WHERE id = 1), "
            "(SELECT keyed_from FROM audit_head WHERE id = 1), (SELECT key_check FROM audit_head WHERE id = 1), "
            "(SELECT mac FROM audit_head WHERE id = 1), (SELECT max(id) FROM audit), (SELECT count(*) FROM audit), "
            "(SELECT max(id) FROM audit_anchors), (SELECT count(*) FROM change_requests)"
        ).fetchone()
    head_rows, head_hash, keyed_from, stored_check, mac, last_id, rows_found, last_anchor_id, requests = head

    def bad(first_bad_id: int | None, problem: str, needs_key: bool = False) -> AuditVerification:
        return AuditVerification(False, rows_found, first_bad_id, problem, head_hash or GENESIS, keyed_from, needs_key)

    if stored_check is not None and key is None:
        return bad(
            None,
            f"the log is keyed (HMAC-SHA256) from row {keyed_from} on: set WARDEN_AUDIT_KEY to the key "
            "it was written with to verify it",
            needs_key=True,
        )
    if stored_check is not None and key is not None and not same(stored_check, key_check(key)):
        return bad(
            None, "WARDEN_AUDIT_KEY is not the key this log was keyed with, or the head was rewritten without it"
        )
    if stored_check is None and key is not None:
        return bad(
            None,
            "WARDEN_AUDIT_KEY is set but the audit head is not keyed: the bot never ran with this key, "
            "or the log was rewritten without it",
        )

    expected_id = 1
    prev, prev_prev = GENESIS, None  # the hashes of the last two rows walked
    hash_at_head_rows = GENESIS if not head_rows else None
    for row in rows_up_to(storage, last_id):
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
        keyed = keyed_from is not None and row_id >= keyed_from
        if content_hash(row, key if keyed else None) != stored_hash:
            how = (
                "or rewritten without WARDEN_AUDIT_KEY): its content no longer matches its HMAC"
                if keyed
                else ("or renumbered): its content no longer matches its hash")
            )
            return bad(row_id, f"row {row_id} was edited ({how}")
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

    problem = _head_problem(head_rows, head_hash, rows_found, prev, hash_at_head_rows)
    if problem is not None:
        return bad(*problem)
    if stored_check is not None and key is not None:
        if not same(mac, head_mac(key, head_rows, head_hash, keyed_from)):
            return bad(
                None,
                "the audit head's MAC does not match it: the head was moved (the last rows deleted and the "
                "head set back, or the log rewritten) without WARDEN_AUDIT_KEY",
            )

    anchors = [] if anchor is None else [(anchor[0], anchor[1], f"the anchored head {anchor[0]}:{anchor[1]}")]
    broken = audit_anchors.first_broken(storage, last_anchor_id)
    if broken is not None:
        anchors.append((broken.seq, broken.hash, f"the head {broken.head} anchored to {broken.channel}"))
    for seq, anchored_hash, label in anchors:
        problem = _anchor_problem(storage, seq, anchored_hash, label, rows_found)
        if problem is not None:
            return bad(*problem)
    if rows_found == 0 and requests:
        return bad(
            1,
            f"the log is empty, but {requests} change request{'s are' if requests != 1 else ' is'} stored "
            "and each one was audited when it was made: every row was deleted",
        )
    return AuditVerification(True, rows_found, None, None, head_hash or GENESIS, keyed_from)


def _head_problem(
    head_rows: int | None, head_hash: str | None, rows_found: int, last: str, hash_at_head_rows: str | None
) -> tuple[int | None, str] | None:
    """What is wrong with the head, given a chain that walked cleanly; None when it matches."""
    if head_rows is None:
        if rows_found:
            return None, f"the audit head is missing, but the log has {rows_found} rows: it was deleted"
        return None
    if head_rows == rows_found and head_hash == last:
        return None
    if head_rows > rows_found:
        missing = _span(rows_found + 1, head_rows)
        return (
            rows_found + 1,
            f"the head records {head_rows} rows but the log has {rows_found}: "
            f"{missing} missing (deleted from the end of the log)",
        )
    if head_rows < rows_found and head_hash == hash_at_head_rows:
        return (
            head_rows + 1,
            f"the head records {head_rows} rows but the log has {rows_found}: "
            f"row {head_rows + 1} onwards were added without the head",
        )
    return (
        None,
        f"the audit head does not match the log: it records {head_rows} rows ending in "
        f"{_short(head_hash)}, the log has {rows_found} rows ending in {_short(last)}: "
        "the head was rewritten",
    )


def _anchor_problem(
    storage: Storage, seq: int, anchored_hash: str, label: str, rows_found: int
) -> tuple[int, str] | None:
    """Whether row `seq` is still the row anchored; the chain up to it has already walked cleanly."""
    if seq > rows_found:
        return (
            rows_found + 1,
            f"{label} vouches for {seq} rows, but the log has {rows_found}: "
            f"{_span(rows_found + 1, seq)} missing (the log was cut short and its head set back)",
        )
    with storage.lock:
        row = storage.db.execute("SELECT hash FROM audit WHERE id = ?", [seq]).fetchone()
    if row is not None and same(row[0], anchored_hash):
        return None
    first = (audit_anchors.last_intact_before(storage, seq) or 0) + 1
    return (
        first,
        f"row {seq} is not the row in {label} (its hash is now {_short(row[0] if row else None)}): the log up "
        f"to row {seq} was rewritten: at least one of {_rows_text(first, seq)} changed and every later hash "
        "was recomputed",
    )


def _span(first: int, last: int) -> str:
    return f"row {first} is" if first == last else f"rows {first}–{last} are"


def _rows_text(first: int, last: int) -> str:
    return f"row {first}" if first == last else f"rows {first}–{last}"


def _short(digest: str | None) -> str:
    return f"{digest[:12]}…" if digest else "(none)"
