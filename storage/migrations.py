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
def m007_sealed_audit(db: Database) -> None:
    """Keyed audit heads, anchors of the head, and triggers that keep the audit and decided requests as written.

    The head gains what a keyed chain needs (storage/audit_key.py): the first keyed row, a check value
    of the key and a MAC of the head. `audit_anchors` records each head posted outside the host
    (storage/audit_anchors.py). Triggers refuse what the earlier ones let through: INSERT OR REPLACE
    over an audit row (REPLACE deletes without firing DELETE triggers), rows out of order or not
    linked to the head, a head that does not follow the rows, deleting the head, changing anchors,
    deleting change requests or approvals, rewriting a request's stored content, and any change to a
    request once it is decided.
    """
    for column, kind in (("keyed_from", "INTEGER"), ("key_check", "TEXT"), ("mac", "TEXT")):
        db.execute(f"ALTER TABLE audit_head ADD COLUMN {column} {kind}")
    db.execute(
        """
        CREATE TABLE audit_anchors (
            id INTEGER PRIMARY KEY,
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL,
            at REAL NOT NULL,
            channel TEXT NOT NULL,
            outbox_id INTEGER
        )
        """
    )
    genesis = "0" * 64
    statements = {
        "audit_insert_in_order": (
            "BEFORE INSERT ON audit WHEN NEW.id IS NOT (SELECT coalesce(max(id), 0) + 1 FROM audit) "
            "OR NEW.prev_hash IS NOT (SELECT hash FROM audit_head WHERE id = 1)",
            "an audit row is only ever appended: the next id, linked to the head",
        ),
        "audit_head_insert_once": (
            "BEFORE INSERT ON audit_head WHEN EXISTS (SELECT 1 FROM audit_head) "
            f"OR NEW.rows IS NOT 0 OR NEW.hash IS NOT '{genesis}' OR NEW.key_check IS NOT NULL",
            "the audit head is written once, empty, and then only moves forward",
        ),
        "audit_head_forward_only": (
            "BEFORE UPDATE ON audit_head WHEN NOT ("
            "(NEW.rows = OLD.rows + 1 AND NEW.hash = (SELECT hash FROM audit ORDER BY id DESC LIMIT 1) "
            " AND OLD.hash = (SELECT prev_hash FROM audit ORDER BY id DESC LIMIT 1) "
            " AND NEW.id = OLD.id AND NEW.keyed_from IS OLD.keyed_from AND NEW.key_check IS OLD.key_check) "
            "OR (OLD.key_check IS NULL AND NEW.key_check IS NOT NULL AND NEW.keyed_from = OLD.rows + 1 "
            " AND NEW.id = OLD.id AND NEW.rows = OLD.rows AND NEW.hash = OLD.hash))",
            "the audit head only moves forward, to a new row linked to it",
        ),
        "audit_head_no_delete": ("BEFORE DELETE ON audit_head", "the audit head cannot be deleted"),
        "audit_anchors_no_update": ("BEFORE UPDATE ON audit_anchors", "audit anchors are append-only"),
        "audit_anchors_no_delete": ("BEFORE DELETE ON audit_anchors", "audit anchors are append-only"),
        "change_requests_no_delete": ("BEFORE DELETE ON change_requests", "change requests are never deleted"),
        "change_requests_no_replace": (
            "BEFORE INSERT ON change_requests WHEN EXISTS (SELECT 1 FROM change_requests WHERE id = NEW.id)",
            "a change request is written once",
        ),
        "change_requests_content_fixed": (
            "BEFORE UPDATE ON change_requests WHEN NEW.id IS NOT OLD.id OR NEW.system IS NOT OLD.system "
            "OR NEW.action IS NOT OLD.action OR NEW.params_json IS NOT OLD.params_json "
            "OR NEW.commands_json IS NOT OLD.commands_json OR NEW.summary IS NOT OLD.summary "
            "OR NEW.requester IS NOT OLD.requester OR NEW.reason IS NOT OLD.reason "
            "OR NEW.created_at IS NOT OLD.created_at OR NEW.expires_at IS NOT OLD.expires_at "
            "OR NEW.min_approvals IS NOT OLD.min_approvals OR NEW.alert_fingerprint IS NOT OLD.alert_fingerprint",
            "what a change request asks for cannot change after it was made",
        ),
        "change_requests_decided_once": (
            "BEFORE UPDATE ON change_requests WHEN NOT ("
            "(OLD.state = 'pending' AND NEW.state IN ('executing', 'rejected', 'expired')) "
            "OR (OLD.state = 'executing' AND NEW.state IN ('done', 'failed', 'unknown')))",
            "a change request moves pending → executing → done, failed or unknown, or pending → rejected "
            "or expired, once; a decided request cannot change",
        ),
        "change_approvals_no_update": ("BEFORE UPDATE ON change_approvals", "approvals cannot change"),
        "change_approvals_no_delete": ("BEFORE DELETE ON change_approvals", "approvals cannot be deleted"),
        "change_approvals_only_pending": (
            "BEFORE INSERT ON change_approvals WHEN "
            "(SELECT state FROM change_requests WHERE id = NEW.request_id) IS NOT 'pending'",
            "only a pending request can be approved",
        ),
    }
    for name, (when, message) in statements.items():
        db.execute(f"CREATE TRIGGER {name} {when} BEGIN SELECT RAISE(ABORT, '{message}'); END")
    # INSERT OR REPLACE of an approval already counted keeps the one recorded (REPLACE would delete it
    # without firing the DELETE trigger); INSERT OR IGNORE of a repeated click stays a quiet no-op.
    db.execute(
        "CREATE TRIGGER change_approvals_no_replace BEFORE INSERT ON change_approvals WHEN EXISTS "
        "(SELECT 1 FROM change_approvals WHERE request_id = NEW.request_id AND approver = NEW.approver) "
        "BEGIN SELECT RAISE(IGNORE); END"
    )


@migrations()
def m008_request_cl_digest(db: Database) -> None:
    """The SHA-256 of exactly what the approval message showed, checked again at Approve and before running;
    like the rest of a request's content, it cannot change once the request is made. A pending request found
    tampered at Approve may fail without running."""
    db.execute("ALTER TABLE change_requests ADD COLUMN cl_digest TEXT")
    db.execute("DROP TRIGGER change_requests_content_fixed")
    db.execute(
        "CREATE TRIGGER change_requests_content_fixed "
        "BEFORE UPDATE ON change_requests WHEN NEW.id IS NOT OLD.id OR NEW.system IS NOT OLD.system "
        "OR NEW.action IS NOT OLD.action OR NEW.params_json IS NOT OLD.params_json "
        "OR NEW.commands_json IS NOT OLD.commands_json OR NEW.summary IS NOT OLD.summary "
        "OR NEW.requester IS NOT OLD.requester OR NEW.reason IS NOT OLD.reason "
        "OR NEW.created_at IS NOT OLD.created_at OR NEW.expires_at IS NOT OLD.expires_at "
        "OR NEW.min_approvals IS NOT OLD.min_approvals OR NEW.alert_fingerprint IS NOT OLD.alert_fingerprint "
        "OR NEW.cl_digest IS NOT OLD.cl_digest "
        "BEGIN SELECT RAISE(ABORT, 'what a change request asks for cannot change after it was made'); END"
    )
    # a pending request found tampered at Approve fails there and then: nothing ran
    db.execute("DROP TRIGGER change_requests_decided_once")
    db.execute(
        "CREATE TRIGGER change_requests_decided_once BEFORE UPDATE ON change_requests WHEN NOT ("
        "(OLD.state = 'pending' AND NEW.state IN ('executing', 'rejected', 'expired', 'failed')) "
        "OR (OLD.state = 'executing' AND NEW.state IN ('done', 'failed', 'unknown'))) "
        "BEGIN SELECT RAISE(ABORT, 'a change request moves pending → executing → done, failed or unknown, "
        "or pending → rejected, expired or failed (found tampered), once; a decided request cannot change'); END"
    )


@migrations()
def m009_outbox_hold(db: Database) -> None:
    """Why a pending outbox row waits (storage/outbox.py): a transient backoff, a rate limit, or parked on an error
    only a person can fix (the bot not in the channel, a refused token); and the lookup of a message's queued edit."""
    db.execute(
        "ALTER TABLE outbox ADD COLUMN hold TEXT CHECK (hold IS NULL OR hold IN ('backoff', 'rate_limited', 'parked'))"
    )
    db.execute(
        "CREATE INDEX outbox_queued_edit ON outbox (target_key) WHERE state = 'pending' AND target_key IS NOT NULL"
    )


@migrations()
def m010_system_health(db: Database) -> None:
    """Which way a system is sick (or healthy) and since when, not only whether it answered
    (storage/check_runs.py): a system that answers but fails every read, or lets the bot read nothing, is sick too."""
    db.execute(
        "ALTER TABLE system_reachability ADD COLUMN state TEXT NOT NULL DEFAULT 'healthy' CHECK "
        "(state IN ('healthy', 'unreachable', 'hung', 'erroring', 'not authorised'))"
    )
    db.execute("ALTER TABLE system_reachability ADD COLUMN since TEXT")
    db.execute("UPDATE system_reachability SET state = 'unreachable' WHERE reachable = 0")
    db.execute("UPDATE system_reachability SET since = checked_at")


@migrations()
def m011_check_run_lateness(db: Database) -> None:
    """How late a scheduled run started (seconds after its due time); NULL for a run made by hand."""
    db.execute("ALTER TABLE check_runs ADD COLUMN lateness REAL")


@migrations()
def m012_alert_checks(db: Database) -> None:
    """Per system and check (storage/alerts.py): when its last run was taken in by the alert lifecycle (the last
    time its open alerts were seen, so an unchanged run rewrites none of them), and the token of its alerts'
    last write, which tells a copy kept in memory whether it is still the truth."""
    db.execute(
        """
        CREATE TABLE alert_checks (
            system TEXT NOT NULL,
            check_id TEXT NOT NULL,
            seen_at REAL,
            token TEXT,
            PRIMARY KEY (system, check_id)
        ) WITHOUT ROWID
        """
    )


@migrations()
def m013_audit_journal(db: Database) -> None:
    """The security audit journal as the bot has read it (storage/journal.py): per system and entry type, the
    position read up to; and the entries read, kept while a check still judges them."""
    db.execute(
        """
        CREATE TABLE journal_positions (
            system TEXT NOT NULL,
            entry_type TEXT NOT NULL,
            entry_timestamp TEXT NOT NULL,
            keys_json TEXT NOT NULL,
            receiver TEXT,
            read_at REAL NOT NULL,
            PRIMARY KEY (system, entry_type)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE journal_entries (
            system TEXT NOT NULL,
            entry_type TEXT NOT NULL,
            entry_key TEXT NOT NULL,
            entry_timestamp TEXT NOT NULL,
            entry_json TEXT NOT NULL,
            PRIMARY KEY (system, entry_type, entry_key)
        )
        """
    )
    db.execute("CREATE INDEX journal_entries_by_time ON journal_entries (system, entry_type, entry_timestamp)")


def migration_names() -> list[str]:
    """The names of every migration this code knows, in the order they apply."""
    return [migration.name for migration in migrations.pending(Database(memory=True))]
