"""Opening the bot's SQLite database: one connection, shared by the bot's threads.

`open_database` returns a `Storage`. The caller names the ibmi-warden version it runs (recorded
as the writer of the schema, and quoted when a newer version wrote the file). Its connection
may be used from any thread, but sqlite3 transactions belong to the connection, not to the
thread, so every use of `storage.db` (reads included) holds `storage.lock`;
`storage.transaction()` takes the lock and opens a transaction in one step.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from storage.migrations import migration_names, migrations
from storage.private_files import SQLITE_COMPANIONS, create_private, make_private

SCHEMA_VERSION = len(migration_names())
BUSY_TIMEOUT_MS = 5000
VERSION_TABLE = "schema_version"


class StorageError(Exception):
    """The database cannot be opened or used."""


class NewerDatabaseError(StorageError):
    """The database was written by a newer ibmi-warden; it was left untouched."""

    def __init__(
        self, path: Path, written_by: str | None, schema: int, unknown_migrations: list[str], app_version: str
    ):
        self.path = path
        self.written_by = written_by
        self.schema = schema
        self.unknown_migrations = unknown_migrations
        message = (
            f"{path} was written by ibmi-warden {written_by or '(unknown version)'} (schema {schema}); "
            f"this is ibmi-warden {app_version} (schema {SCHEMA_VERSION}). "
            "Upgrade ibmi-warden, or restore a backup made before the upgrade."
        )
        if unknown_migrations:
            message += f" Migrations this version does not know: {', '.join(unknown_migrations)}."
        super().__init__(message)


@dataclass(eq=False)
class Storage:
    """The open database. Hold `lock` for every use of `db`."""

    db: Database
    path: Path
    lock: threading.RLock = field(default_factory=threading.RLock)
    # the key audit rows are written with (HMAC-SHA256), set by storage.audit.use_key; None: unkeyed
    audit_key: bytes | None = field(default=None, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Hold the lock and run the block in one transaction (a savepoint when nested)."""
        with self.lock, self.db.atomic():
            yield self.db

    def close(self) -> None:
        with self.lock:
            self.db.close()


def open_database(path: str | Path, app_version: str) -> Storage:
    """Open (or create) the database at `path`, in WAL mode, with every migration applied.

    `app_version` is the running ibmi-warden's version, recorded as the writer of the schema.
    Raises NewerDatabaseError, changing nothing, when a newer ibmi-warden wrote the file,
    and StorageError when the file cannot be opened or is not SQLite.
    """
    path = Path(path)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{path}: cannot create the folder {path.parent} ({exc.strerror})") from None
    created = _create_private(path)
    conn = _connect(path)
    try:
        db = Database(conn)
        _refuse_newer(db, path, app_version)
        if not created:
            _make_private(path)
        db.enable_wal()
        _migrate(db, path, app_version)
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(f"{path}: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return Storage(db=db, path=path)


def _create_private(path: Path) -> bool:
    """Create a new database file with mode 0600 (SQLite gives its -wal and -shm files the same mode);
    False when there already is one."""
    try:
        return create_private(path)
    except IsADirectoryError:
        return False  # _connect says what is wrong with it
    except OSError as exc:
        raise StorageError(f"{path}: cannot create the database ({exc.strerror})") from None


def _make_private(path: Path) -> None:
    """An existing database (or its -wal, -shm) readable by other users loses those permissions."""
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        if file.is_file():
            make_private(file)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot open the database ({exc})") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # The first read of the file header: this is where a file that is not SQLite fails.
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "not a database" in str(exc):
            raise StorageError(
                f"{path} is not an SQLite database; expected the ibmi-warden database "
                "(storage.path in the configuration) or a path where it can be created"
            ) from None
        raise StorageError(f"{path}: cannot open the database ({exc})") from None
    return conn


def _stored_version(db: Database) -> tuple[int, str | None] | None:
    if not db[VERSION_TABLE].exists():
        return None
    row = db.execute(f"SELECT version, written_by FROM {VERSION_TABLE}").fetchone()
    if row is None:
        return None
    return int(row[0] or 0), row[1]


def _refuse_newer(db: Database, path: Path, app_version: str) -> None:
    known = set(migration_names())
    applied = [migration.name for migration in migrations.applied(db)]
    unknown = [name for name in applied if name not in known]
    stored = _stored_version(db)
    stored_schema, written_by = stored if stored else (0, None)
    if stored_schema > SCHEMA_VERSION or unknown:
        raise NewerDatabaseError(path, written_by, max(stored_schema, len(applied)), unknown, app_version)


def _up_to_date(db: Database) -> bool:
    stored = _stored_version(db)
    return stored is not None and stored[0] == SCHEMA_VERSION and not migrations.pending(db)


def _migrate(db: Database, path: Path, app_version: str) -> None:
    if _up_to_date(db):
        return
    # IMMEDIATE takes the write lock first, so two processes starting together migrate one
    # after the other; the second finds nothing left to do.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        _refuse_newer(db, path, app_version)
        migrations.apply(db)
        if not _up_to_date(db):
            _write_version(db, app_version)
    except BaseException:
        db.rollback()
        raise
    db.conn.execute("COMMIT")


def _write_version(db: Database, app_version: str) -> None:
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} "
        "(version INTEGER NOT NULL, written_by TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    db.execute(f"DELETE FROM {VERSION_TABLE}")
    db.execute(
        f"INSERT INTO {VERSION_TABLE} (version, written_by, updated_at) VALUES (?, ?, ?)",
        [SCHEMA_VERSION, app_version, datetime.now(UTC).isoformat(timespec="seconds")],
    )
