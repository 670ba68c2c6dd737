"""Change requests, their approvals, and the networks trusted by approval.

Every state change is a compare-and-set (`UPDATE … WHERE state = …`), so concurrent and repeated
clicks decide a request once: pending → executing → done | failed, or pending → rejected | expired;
executing → unknown when the bot stopped mid-command (never re-run by itself); pending | executing → failed,
with a "tampered" outcome, when the stored request no longer matches what was shown or no longer passes the rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from storage.database import Storage

FINAL_STATES = ("done", "failed", "rejected", "expired", "unknown")


@dataclass(frozen=True)
class ChangeRequest:
    id: str
    system: str
    action: str
    params: dict[str, Any]  # canonical, validated parameters
    commands: tuple[str, ...]  # the exact CL (empty for trust changes, which run no CL)
    summary: str
    requester: str
    reason: str
    created_at: float
    expires_at: float
    min_approvals: int
    state: str = "pending"
    decided_by: tuple[str, ...] = ()
    decided_at: float | None = None
    rejection_reason: str | None = None
    outcome: dict[str, Any] | None = None
    alert_fingerprint: str | None = None
    channel: str | None = None
    message_key: str | None = None
    approvals: tuple[str, ...] = field(default=())
    cl_digest: str | None = None  # SHA-256 of what the approval message showed; None for requests made before it


def _row_to_request(row: dict[str, Any], approvals: tuple[str, ...]) -> ChangeRequest:
    return ChangeRequest(
        id=row["id"],
        system=row["system"],
        action=row["action"],
        params=json.loads(row["params_json"]),
        commands=tuple(json.loads(row["commands_json"])),
        summary=row["summary"],
        requester=row["requester"],
        reason=row["reason"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        min_approvals=row["min_approvals"],
        state=row["state"],
        decided_by=tuple(json.loads(row["decided_by"])) if row["decided_by"] else (),
        decided_at=row["decided_at"],
        rejection_reason=row["rejection_reason"],
        outcome=json.loads(row["outcome_json"]) if row["outcome_json"] else None,
        alert_fingerprint=row["alert_fingerprint"],
        channel=row["channel"],
        message_key=row["message_key"],
        approvals=approvals,
        cl_digest=row.get("cl_digest"),
    )


def create(storage: Storage, request: ChangeRequest) -> None:
    with storage.lock:
        storage.db.table("change_requests").insert(
            {
                "id": request.id,
                "system": request.system,
                "action": request.action,
                "params_json": json.dumps(request.params, sort_keys=True),
                "commands_json": json.dumps(request.commands),
                "summary": request.summary,
                "requester": request.requester,
                "reason": request.reason,
                "created_at": request.created_at,
                "expires_at": request.expires_at,
                "min_approvals": request.min_approvals,
                "state": "pending",
                "alert_fingerprint": request.alert_fingerprint,
                "channel": request.channel,
                "message_key": request.message_key,
                "cl_digest": request.cl_digest,
            }
        )


def get(storage: Storage, request_id: str) -> ChangeRequest | None:
    with storage.reading() as db:
        rows = list(db.query("SELECT * FROM change_requests WHERE id = ?", [request_id]))
        if not rows:
            return None
        return _row_to_request(rows[0], tuple(approvals_of(storage, request_id)))


def pending(storage: Storage) -> list[ChangeRequest]:
    with storage.reading() as db:
        ids = [
            row["id"] for row in db.query("SELECT id FROM change_requests WHERE state = 'pending' ORDER BY created_at")
        ]
        return [request for request_id in ids if (request := get(storage, request_id)) is not None]


def last_done(storage: Storage, system: str, actions: tuple[str, ...]) -> ChangeRequest | None:
    """The change of one of these kinds that ran successfully on the system most recently (by approval time)."""
    marks = ", ".join("?" for _ in actions)
    with storage.reading() as db:
        rows = list(
            db.query(
                f"SELECT id FROM change_requests WHERE system = ? AND state = 'done' AND action IN ({marks}) "
                "ORDER BY decided_at DESC, created_at DESC LIMIT 1",
                [system, *actions],
            )
        )
        return get(storage, rows[0]["id"]) if rows else None


def latest_from_alerts(storage: Storage, fingerprints: list[str]) -> list[ChangeRequest]:
    """The newest request of each action filed from each of these alerts (their buttons), approvals not read."""
    with storage.reading() as db:
        rows = db.query(
            "SELECT * FROM change_requests WHERE alert_fingerprint IN (SELECT value FROM json_each(?)) "
            "ORDER BY created_at, id",
            [json.dumps(fingerprints)],
        )
        newest = {(row["alert_fingerprint"], row["action"]): row for row in rows}
    return [_row_to_request(row, ()) for row in newest.values()]


def approvals_of(storage: Storage, request_id: str) -> list[str]:
    with storage.reading() as db:
        return [
            row["approver"]
            for row in db.query(
                "SELECT approver FROM change_approvals WHERE request_id = ? ORDER BY at, approver", [request_id]
            )
        ]


def add_approval(storage: Storage, request_id: str, approver: str, now: float) -> bool:
    """Record one approver's approval of a pending, unexpired request; False if already counted or not pending."""
    with storage.lock:
        cursor = storage.db.execute(
            "INSERT OR IGNORE INTO change_approvals (request_id, approver, at) "
            "SELECT id, ?, ? FROM change_requests WHERE id = ? AND state = 'pending' AND expires_at > ?",
            [approver, now, request_id, now],
        )
        return cursor.rowcount == 1


def claim_execution(storage: Storage, request_id: str, now: float) -> bool:
    """pending → executing once enough distinct approvers agreed. Exactly one caller ever gets True."""
    with storage.lock:
        cursor = storage.db.execute(
            "UPDATE change_requests SET state = 'executing', decided_at = ?, "
            "decided_by = (SELECT json_group_array(approver) FROM "
            "  (SELECT approver FROM change_approvals WHERE request_id = ? ORDER BY at, approver)) "
            "WHERE id = ? AND state = 'pending' AND expires_at > ? "
            "AND (SELECT COUNT(*) FROM change_approvals WHERE request_id = ?) >= min_approvals",
            [now, request_id, request_id, now, request_id],
        )
        return cursor.rowcount == 1


def reject(storage: Storage, request_id: str, by: str, reason: str, now: float) -> bool:
    with storage.lock:
        cursor = storage.db.execute(
            "UPDATE change_requests SET state = 'rejected', decided_by = ?, decided_at = ?, rejection_reason = ? "
            "WHERE id = ? AND state = 'pending' AND expires_at > ?",
            [json.dumps([by]), now, reason, request_id, now],
        )
        return cursor.rowcount == 1


def finish(storage: Storage, request_id: str, state: str, outcome: dict[str, Any]) -> bool:
    """executing → done | failed | unknown, with the outcome (success, or the message id and text)."""
    if state not in ("done", "failed", "unknown"):
        raise ValueError(f"a request cannot finish as {state!r}")
    with storage.lock:
        cursor = storage.db.execute(
            "UPDATE change_requests SET state = ?, outcome_json = ? WHERE id = ? AND state = 'executing'",
            [state, json.dumps(outcome, sort_keys=True), request_id],
        )
        return cursor.rowcount == 1


def refuse_tampered(storage: Storage, request_id: str, outcome: dict[str, Any], now: float) -> bool:
    """pending | executing → failed without running: the stored request no longer matches what was shown or no
    longer passes the rules. True when this call changed the state."""
    with storage.lock:
        cursor = storage.db.execute(
            "UPDATE change_requests SET state = 'failed', outcome_json = ?, decided_at = coalesce(decided_at, ?) "
            "WHERE id = ? AND state IN ('pending', 'executing')",
            [json.dumps(outcome, sort_keys=True), now, request_id],
        )
        return cursor.rowcount == 1


def digest_in_audit(storage: Storage, request_id: str) -> str | None:
    """The digest recorded in the audit log when the request was made (the audit is append-only and chained,
    so it is a second copy that a write to change_requests alone does not change)."""
    with storage.reading() as db:
        row = db.execute(
            "SELECT json_extract(details_json, '$.cl_digest') FROM audit "
            "WHERE subject = ? AND action = 'request' ORDER BY id LIMIT 1",
            [request_id],
        ).fetchone()
    return row[0] if row else None


def expire_due(storage: Storage, now: float) -> list[ChangeRequest]:
    """pending requests past their expiry → expired; returns them."""
    with storage.lock:
        due = [
            row["id"]
            for row in storage.db.query(
                "SELECT id FROM change_requests WHERE state = 'pending' AND expires_at <= ?", [now]
            )
        ]
        expired = []
        for request_id in due:
            cursor = storage.db.execute(
                "UPDATE change_requests SET state = 'expired', decided_at = ? WHERE id = ? AND state = 'pending'",
                [now, request_id],
            )
            if cursor.rowcount == 1 and (request := get(storage, request_id)) is not None:
                expired.append(request)
        return expired


def mark_interrupted(storage: Storage) -> list[ChangeRequest]:
    """executing → unknown: the bot stopped between starting a command and recording its result."""
    with storage.lock:
        ids = [row["id"] for row in storage.db.query("SELECT id FROM change_requests WHERE state = 'executing'")]
        storage.db.execute(
            "UPDATE change_requests SET state = 'unknown', outcome_json = ? WHERE state = 'executing'",
            [json.dumps({"ok": None, "text": "the bot stopped while the command ran; its outcome is unknown"})],
        )
        return [request for request_id in ids if (request := get(storage, request_id)) is not None]


def add_trusted(
    storage: Storage, system: str, network: str, reason: str, by: str, request_id: str | None, now: float
) -> None:
    with storage.lock:
        storage.db.table("trusted_networks").insert(
            {
                "system": system,
                "network": network,
                "reason": reason,
                "added_by": by,
                "request_id": request_id,
                "added_at": now,
            },
            replace=True,
        )


def remove_trusted(storage: Storage, system: str, network: str) -> bool:
    with storage.lock:
        cursor = storage.db.execute("DELETE FROM trusted_networks WHERE system = ? AND network = ?", [system, network])
        return cursor.rowcount == 1


def trusted_networks(storage: Storage, system: str) -> list[str]:
    with storage.reading() as db:
        return [
            row["network"]
            for row in db.query("SELECT network FROM trusted_networks WHERE system = ? ORDER BY network", [system])
        ]


def ran_since(storage: Storage, system: str, since: float) -> list[ChangeRequest]:
    """The requests on the system whose commands started running at or after `since` (claimed for execution:
    done, failed or unknown), oldest first; approvals not read."""
    with storage.reading() as db:
        rows = db.query(
            "SELECT * FROM change_requests WHERE system = ? AND state IN ('done', 'failed', 'unknown') "
            "AND decided_at >= ? AND commands_json <> '[]' ORDER BY decided_at, id",
            [system, since],
        )
        return [_row_to_request(row, ()) for row in rows]
