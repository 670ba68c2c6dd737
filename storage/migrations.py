"""The schema of the bot's database: one ordered list of named migrations.

Rules for adding a table family (or changing one):

- append a function `mNNN_<what>` decorated with `@migrations()` at the end of this file;
- never rename, reorder, edit or delete a migration that has been released: a database
  records the names it has applied, and a name this code does not know means the database
  was written by a newer ibmi-warden (see `storage.database`);
- write the SQL out here instead of calling code from the table-family modules, so that a
  migration keeps doing exactly what it did when it was released;
- keep every migration transactional (no VACUUM): `open_database` applies them all in one
  transaction, so two processes starting together cannot both migrate.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "ibmi-warden"

migrations = Migrations(MIGRATION_SET)


@migrations()
def m001_check_runs(db: Database) -> None:
    """Every check run, and whether each system answered (storage/check_runs.py)."""
    db.execute(
        """
        CREATE TABLE check_runs (
            id INTEGER PRIMARY KEY,
            system TEXT NOT NULL,
            check_id TEXT NOT NULL,
            started_at TEXT NOT NULL,
            duration REAL NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'findings', 'error')),
            findings INTEGER NOT NULL DEFAULT 0,
            error TEXT
        )
        """
    )
    db.execute("CREATE INDEX check_runs_latest ON check_runs (system, check_id, started_at)")
    db.execute(
        """
        CREATE TABLE system_reachability (
            system TEXT PRIMARY KEY,
            reachable INTEGER NOT NULL,
            error TEXT,
            checked_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m002_outbox(db: Database) -> None:
    """The durable queue of Slack posts and edits, and the messages they made (storage/outbox.py)."""
    db.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            method TEXT NOT NULL CHECK (method IN ('chat.postMessage', 'chat.update')),
            payload TEXT NOT NULL,
            message_key TEXT,
            thread_key TEXT,
            target_key TEXT,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
            enqueued_at REAL NOT NULL,
            next_attempt_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at REAL,
            error TEXT,
            ts TEXT,
            finished_at REAL,
            CHECK (method = 'chat.update' OR target_key IS NULL),
            CHECK (method = 'chat.postMessage' OR (target_key IS NOT NULL AND message_key IS NULL
                                                   AND thread_key IS NULL))
        )
        """
    )
    db.execute("CREATE INDEX outbox_unsent ON outbox (channel, id) WHERE state IN ('pending', 'sending')")
    db.execute("CREATE INDEX outbox_message_key ON outbox (message_key) WHERE message_key IS NOT NULL")
    db.execute("CREATE INDEX outbox_finished ON outbox (finished_at) WHERE finished_at IS NOT NULL")
    db.execute(
        """
        CREATE TABLE sent_messages (
            key TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            ts TEXT NOT NULL,
            sent_at REAL NOT NULL,
            outbox_id INTEGER
        )
        """
    )


@migrations()
def m003_alerts(db: Database) -> None:
    """Alerts, the messages they were posted in, and silences (storage/alerts.py)."""
    db.execute(
        """
        CREATE TABLE alerts (
            fingerprint TEXT PRIMARY KEY,
            system TEXT NOT NULL,
            check_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
            title TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            clean_runs INTEGER NOT NULL DEFAULT 0,
            resolved_at REAL,
            last_notified_at REAL,
            finding_json TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX alerts_by_check ON alerts (system, check_id)")
    db.execute(
        """
        CREATE TABLE alert_messages (
            fingerprint TEXT NOT NULL REFERENCES alerts (fingerprint),
            channel TEXT NOT NULL,
            message_key TEXT NOT NULL,
            PRIMARY KEY (fingerprint, channel)
        )
        """
    )
    db.execute("CREATE INDEX alert_messages_by_key ON alert_messages (message_key)")
    db.execute(
        """
        CREATE TABLE silences (
            id INTEGER PRIMARY KEY,
            matcher_kind TEXT NOT NULL CHECK (matcher_kind IN ('fingerprint', 'address')),
            matcher TEXT NOT NULL,
            reason TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            ended_at REAL
        )
        """
    )


@migrations()
def m004_rdap_cache(db: Database) -> None:
    """Owners of addresses looked up over RDAP (storage/rdap_cache.py)."""
    db.execute(
        "CREATE TABLE rdap_cache (address TEXT PRIMARY KEY, owner_json TEXT NOT NULL, looked_up_at REAL NOT NULL)"
    )
    db.execute("CREATE INDEX rdap_cache_looked_up_at ON rdap_cache (looked_up_at)")


@migrations()
def m005_audit(db: Database) -> None:
    """The append-only, hash-chained audit log (storage/audit.py)."""
    db.execute(
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            system TEXT,
            subject TEXT NOT NULL,
            outcome TEXT NOT NULL,
            details_json TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )
        """
    )
    db.execute(
        "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), rows INTEGER NOT NULL, hash TEXT NOT NULL)"
    )
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER audit_no_{event.lower()} BEFORE {event} ON audit "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )


@migrations()
def m006_approvals(db: Database) -> None:
    """Change requests, their approvals (storage/approvals.py), and networks trusted by approval."""
    db.execute(
        """
        CREATE TABLE change_requests (
            id TEXT PRIMARY KEY,
            system TEXT NOT NULL,
            action TEXT NOT NULL,
            params_json TEXT NOT NULL,
            commands_json TEXT NOT NULL,
            summary TEXT NOT NULL,
            requester TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            min_approvals INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN
                ('pending', 'executing', 'done', 'failed', 'rejected', 'expired', 'unknown')),
            decided_by TEXT,  -- JSON array of the approvers (or the rejecter)
            decided_at REAL,
            rejection_reason TEXT,
            outcome_json TEXT,
            alert_fingerprint TEXT,
            channel TEXT,
            message_key TEXT
        )
        """
    )
    db.execute("CREATE INDEX change_requests_by_state ON change_requests (state, expires_at)")
    db.execute(
        """
        CREATE TABLE change_approvals (
            request_id TEXT NOT NULL REFERENCES change_requests (id),
            approver TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (request_id, approver)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE trusted_networks (
            system TEXT NOT NULL,
            network TEXT NOT NULL,
            reason TEXT NOT NULL,
            added_by TEXT NOT NULL,
            request_id TEXT,
            added_at REAL NOT NULL,
            PRIMARY KEY (system, network)
        )
        """
    )


@migrations()
def m007_request_cl_digest(db: Database) -> None:
    """The SHA-256 of exactly what the approval message showed, checked again at Approve and before running."""
    db.execute("ALTER TABLE change_requests ADD COLUMN cl_digest TEXT")


def migration_names() -> list[str]:
    """The names of every migration this code knows, in the order they apply."""
    return [migration.name for migration in migrations.pending(Database(memory=True))]
