"""Opening the bot's SQLite database: one connection for writes, a pool of connections for reads.

`open_database` returns a `Storage`. The caller names the ibmi-warden version it runs (recorded
as the writer of the schema, and quoted when a newer version wrote the file).

Writes share one connection: sqlite3 transactions belong to the connection, not to the thread, so
every write holds `storage.lock` (`storage.transaction()` takes it and opens a short `BEGIN
IMMEDIATE` transaction in one step). Reads do not wait for writers: `storage.reading()` lends a
read-only connection of their own and reads in one snapshot, which WAL mode lets run alongside a
writer (inside a write, it reads on the write connection, so the transaction sees its own
writes). Using `storage.db` under `storage.lock` for reads still works; it just waits for writers.

Trouble from outside the bot (a full disk, another process holding the write lock, a read-only
file) raised inside `storage.lock` becomes a `StorageFailure` saying what is wrong and how to fix
it, and `storage.health` logs the outage once (see storage/health.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from sqlite_utils import Database

from storage.health import StorageHealth, StorageProblem
from storage.migrations import migration_names, migrations
from storage.private_files import SQLITE_COMPANIONS, create_private, make_private

SCHEMA_VERSION = len(migration_names())
BUSY_TIMEOUT_MS = 5000
VERSION_TABLE = "schema_version"
READERS_KEPT = 8  # idle read connections kept open; more are opened when more threads read at once


class StorageError(Exception):
    """The database cannot be opened or used."""


class StorageFailure(StorageError, sqlite3.OperationalError):
    """The database refused a write for a reason outside the bot (`problem` says which and the fix).
    Raised in place of the sqlite3 error; the failed transaction was rolled back."""

    def __init__(self, problem: StorageProblem, path: Path, detail: str):
        self.problem = problem
        self.path = path
        super().__init__(f"the bot's database {path} cannot be written: {problem.reason} ({detail}) — {problem.fix}")


class MissingFolderError(StorageError):
    """The folder the database should be in does not exist: nothing was created (a mistyped path would otherwise
    start a fresh database, with a new audit chain and every alert posted again)."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path}: the folder {path.parent} does not exist")


class ForeignDatabaseError(StorageError):
    """The file is an SQLite database of something else; it was left untouched."""

    def __init__(self, path: Path, tables: list[str]):
        self.path = path
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        super().__init__(
            f"{path} is an SQLite database of something else (tables {shown}), not the ibmi-warden database; "
            "point [storage] path at the bot's own database or at a new file"
        )


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


class WriteLock:
    """The re-entrant lock around the write connection. It knows whether the current thread holds it, turns
    storage trouble raised while it is held into `StorageFailure`, and tells `health` of every failure and of
    every committed write."""

    def __init__(self, conn: sqlite3.Connection, health: StorageHealth) -> None:
        self._conn = conn
        self._health = health
        self._lock = threading.RLock()
        self._depth = threading.local()
        self._changes_before = 0

    def held(self) -> bool:
        """Whether the current thread holds the lock."""
        return getattr(self._depth, "value", 0) > 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._lock.acquire(blocking, timeout):
            return False
        depth = getattr(self._depth, "value", 0)
        if depth == 0:
            self._changes_before = self.rows_changed()
        self._depth.value = depth + 1
        return True

    def release(self) -> None:
        self._depth.value -= 1
        self._lock.release()

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        committed = (
            self._depth.value == 1
            and exc is None
            and self.rows_changed() != self._changes_before
            and not self._in_transaction()
        )
        self.release()
        if exc is not None and not isinstance(exc, StorageFailure):
            problem = self._health.failed(exc)
            if problem is not None:
                raise StorageFailure(problem, self._health.path, str(exc)) from exc
        elif committed:
            self._health.succeeded()

    def rows_changed(self) -> int:
        """Rows inserted, updated or deleted through the write connection since it opened (-1 once closed): a
        holder of the lock compares two readings to tell whether what it ran in between wrote anything."""
        try:
            return self._conn.total_changes
        except sqlite3.ProgrammingError:  # closed
            return -1

    def _in_transaction(self) -> bool:
        try:
            return self._conn.in_transaction
        except sqlite3.ProgrammingError:
            return False


class ReadPool:
    """Read-only connections lent one at a time, each read in one snapshot (a read transaction)."""

    def __init__(self, path: Path, busy_timeout_ms: int, keep: int = READERS_KEPT) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.keep = keep
        self._idle: list[Database] = []
        self._lock = threading.Lock()
        self._closed = False
        self._current = threading.local()  # the snapshot this thread reads in, so nested reads share it

    @contextmanager
    def snapshot(self) -> Iterator[Database]:
        current: Database | None = getattr(self._current, "db", None)
        if current is not None:
            yield current
            return
        db = self._take()
        self._current.db = db
        try:
            db.conn.execute("BEGIN")
            try:
                yield db
            finally:
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")  # it only read: ending the snapshot is all there is to do
        finally:
            self._current.db = None
            self._give_back(db)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.conn.close()

    def _take(self) -> Database:
        with self._lock:
            if self._closed:
                raise StorageError(f"{self.path}: the database is closed")
            if self._idle:
                return self._idle.pop()
        conn = _connect(self.path, self.busy_timeout_ms, autocommit=True)
        conn.execute("PRAGMA query_only = ON")
        return Database(conn)

    def _give_back(self, db: Database) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.keep and not db.conn.in_transaction:
                self._idle.append(db)
                return
        db.conn.close()


@dataclass(eq=False)
class Storage:
    """The open database. Hold `lock` for every use of `db`; read through `reading()` to read without waiting."""

    db: Database
    path: Path
    lock: WriteLock
    health: StorageHealth
    readers: ReadPool
    # the key audit rows are written with (HMAC-SHA256), set by storage.audit.use_key; None: unkeyed
    audit_key: bytes | None = field(default=None, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Hold the lock and run the block in one transaction (a savepoint when nested). The outermost one
        begins IMMEDIATE: another process's writer makes it wait (busy_timeout) at the start, never halfway."""
        with self.lock:
            conn = self.db.conn
            if conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                self.db.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Database]:
        """A consistent snapshot to read from, without waiting for writers; inside a write (this thread holds
        `lock`), the write connection itself, so the transaction's own writes are seen."""
        if self.lock.held():
            with self.lock:
                yield self.db
            return
        with self.readers.snapshot() as db:
            yield db

    def close(self) -> None:
        with self.lock:
            self.db.close()
        self.readers.close()


def open_database(
    path: str | Path, app_version: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS, create_folder: bool = False
) -> Storage:
    """Open (or create) the database at `path`, in WAL mode, with every migration applied.

    `app_version` is the running ibmi-warden's version, recorded as the writer of the schema;
    `busy_timeout_ms` how long a statement waits for another process's write lock before failing;
    `create_folder` whether a missing folder is created (mode 0700), else refused with MissingFolderError.
    Raises NewerDatabaseError, changing nothing, when a newer ibmi-warden wrote the file,
    and StorageError when the file cannot be opened or is not SQLite.
    """
    path = Path(path)
    if create_folder:
        make_folder(path)
    elif not path.parent.is_dir():
        raise MissingFolderError(path)
    created = _create_private(path)
    conn = _connect(path, busy_timeout_ms)
    try:
        db = Database(conn)
        _refuse_foreign(db, path)
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
    health = StorageHealth(path)
    return Storage(
        db=db, path=path, lock=WriteLock(conn, health), health=health, readers=ReadPool(path, busy_timeout_ms)
    )


def make_folder(path: str | Path) -> None:
    """Create the folder the database at `path` goes in (and its parents), readable by the bot's user only."""
    path = Path(path)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{path}: cannot create the folder {path.parent} ({exc.strerror})") from None


def open_read_only(path: str | Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Storage:
    """Open an existing database without changing it (no migration, no WAL switch, no file created): for
    `ibmi-warden doctor`, which looks at what a running bot left. Raises StorageError when it cannot."""
    path = Path(path)
    try:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, timeout=busy_timeout_ms / 1000, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot open the database read-only ({exc})") from None
    health = StorageHealth(path)
    return Storage(
        db=Database(conn),
        path=path,
        lock=WriteLock(conn, health),
        health=health,
        readers=ReadPool(path, busy_timeout_ms),
    )


def check_openable(path: str | Path, app_version: str) -> None:
    """Raise what `open_database` would refuse an existing database for (not SQLite, another program's database,
    written by a newer ibmi-warden), reading it only: for `ibmi-warden doctor`."""
    storage = open_read_only(path)
    try:
        _refuse_foreign(storage.db, storage.path)
        _refuse_newer(storage.db, storage.path, app_version)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path}: {exc}") from None
    finally:
        storage.close()


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


def _connect(path: Path, busy_timeout_ms: int, autocommit: bool = False) -> sqlite3.Connection:
    """`autocommit`: no implicit transactions (the read pool begins and ends its snapshots itself)."""
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, check_same_thread=False)
        if autocommit:
            conn.isolation_level = None
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot open the database ({exc})") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
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


def _refuse_foreign(db: Database, path: Path) -> None:
    """A database with tables but no ibmi-warden migration recorded belongs to another program."""
    tables = [
        name
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ]
    if tables and not list(migrations.applied(db)):
        raise ForeignDatabaseError(path, tables)


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
