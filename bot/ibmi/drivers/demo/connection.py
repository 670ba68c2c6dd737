"""The demo driver's DB-API connection: the product's SQL runs unchanged against the demo's SQLite files.

`CALL QSYS2.QCMDEXC(?)` goes to commands.py; the few Db2-for-i-only statements in sql.IBM_ONLY_STATEMENTS
are interpreted here; everything else is SQLite's, with its errors told as Db2 for i tells them.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from bot.ibmi import sql
from bot.ibmi.access import ConnectionSettings
from bot.ibmi.drivers.demo import journal
from bot.ibmi.drivers.demo.commands import JOB_LOG_COLUMNS, JOB_LOG_TABLE, run_command
from bot.ibmi.drivers.demo.errors import DemoError, as_db2_error, statement_failure
from bot.ibmi.drivers.demo.schema import member_table
from bot.ibmi.drivers.demo.seed import BOT_PROFILE, DEFAULT_RELEASE, USERS
from bot.ibmi.drivers.demo.store import ensure_demo_system, open_libraries, set_release
from bot.ibmi.drivers.demo.traffic import advance_traffic

_ALIAS = re.compile(
    r"^CREATE OR REPLACE ALIAS QTEMP\.(?P<alias>[A-Z_]+) FOR QUSRSYS\.QATMADRLST \((?P<member>[A-Z0-9$#@_.]+)\)$"
)
# The audit system values a profile without *ALLOBJ or *AUDIT reads as *NOTAVL (IBM's SYSTEM_VALUE_INFO page).
AUDIT_AUTHORITIES = frozenset({"*ALLOBJ", "*AUDIT"})
AUDIT_SYSTEM_VALUES = ("QAUDCTL", "QAUDENDACN", "QAUDFRCLVL", "QAUDLVL", "QAUDLVL2", "QCRTOBJAUD")
_SYSTEM_VALUE_INFO = re.compile(r"\bQSYS2\.SYSTEM_VALUE_INFO\b", re.IGNORECASE)
_SYSTEM_VALUES_SEEN = "QTEMP.SYSTEM_VALUE_INFO"
# The services IBM i 7.6 refuses to a profile without *IOSYSCFG (or the QIBM_IOSYSCFG_VIEW function usage).
_IOSYSCFG_VIEWS = re.compile(r"\bQSYS2\.(NETSTAT_INFO|NETSTAT_JOB_INFO)\b")
T = TypeVar("T")


def _normalise(statement: str) -> str:
    return " ".join(statement.split()).upper()


def connect(settings: ConnectionSettings) -> DemoConnection:
    demo = settings.demo
    if demo is None:
        raise ValueError(f"{settings.name} is not a demo system")
    folder = Path(demo.path)
    ensure_demo_system(folder)
    return DemoConnection(
        folder,
        latency=demo.latency,
        hang=demo.hang,
        traffic_interval=demo.traffic_interval,
        seed=demo.seed,
        missing_authorities=demo.missing_authorities,
        release=demo.release,
        fail_statements=demo.fail_statements,
    )


class DemoConnection:
    """A DB-API 2.0 connection (the subset the bot uses) to the demo system."""

    def __init__(
        self,
        folder: Path,
        latency: float = 0.0,
        hang: bool = False,
        traffic_interval: float | None = None,
        seed: int = 1,
        missing_authorities: Sequence[str] = (),
        excluded_commands: Sequence[str] = (),
        release: str = DEFAULT_RELEASE,
        fail_statements: str | None = None,
    ):
        self.folder = folder
        self.latency = latency
        self.hang = hang
        self.closed = threading.Event()
        # Held while SQLite runs a statement or hands over rows. Closing an SQLite connection while another
        # thread is inside it crashes the interpreter (CPython's sqlite3 module does not guard against it),
        # and the bot closes an abandoned call's connection on another thread than the call's.
        self.in_use = threading.RLock()
        self.traffic_interval = traffic_interval
        self.seed = seed
        self.missing_authorities = frozenset(missing_authorities)
        self.fail_statements = fail_statements  # an SQL message id every statement fails with
        self.excluded_commands = frozenset(name.upper() for name in excluded_commands)  # *EXCLUDE to the profile
        self._db: sqlite3.Connection | None = open_libraries(folder)
        self._db.execute(f"CREATE TABLE {JOB_LOG_TABLE} ({JOB_LOG_COLUMNS})")
        _set_bot_profile_authorities(self._db, self.missing_authorities)
        # The audit system values need *ALLOBJ or *AUDIT; the demo's profile counts as holding either unless both are
        # missing, and reads QAUDJRN under the same condition (the demo's simplification; docs/demo-system.md).
        self.audits = not AUDIT_AUTHORITIES <= self.missing_authorities
        if not self.audits:
            _hide_audit_values(self._db)
        set_release(self._db, release)
        # the bot's server job, named in the journal entries of the commands it runs
        self.job = journal.Job("QZDASOINIT", "QUSER", f"{100_000 + (id(self) >> 4) % 900_000:06d}")

    def cursor(self) -> DemoCursor:
        if self._db is None:
            raise DemoError("08003", "Connection not open")
        return DemoCursor(self, self._db)

    def commit(self) -> None:
        """Statements run in autocommit mode, as the bot's ODBC connections do."""

    def rollback(self) -> None:
        """Nothing to roll back in autocommit mode."""

    def close(self) -> None:
        """Close now, or, when another thread's statement is running, as soon as SQLite has stopped it."""
        self.closed.set()
        db = self._db
        if db is None:
            return
        try:
            db.interrupt()  # the statement running now fails at its next step (safe from any thread)
        except sqlite3.ProgrammingError:  # closed meanwhile by another thread
            return
        with self.in_use:
            if self._db is not None:
                self._db.close()
                self._db = None


def _set_bot_profile_authorities(db: sqlite3.Connection, missing: frozenset[str]) -> None:
    """The bot's profile holds its seeded special authorities less the missing ones: set at every connect, so a
    configuration without missing_authorities gets them back."""
    seeded = next(row[2] for row in USERS if row[0] == BOT_PROFILE)
    held = " ".join(authority for authority in seeded.split() if authority not in missing)
    current = db.execute(
        "SELECT SPECIAL_AUTHORITIES FROM QSYS2.USER_INFO WHERE AUTHORIZATION_NAME = ?", (BOT_PROFILE,)
    ).fetchone()
    if current is not None and current[0] != held:  # write only on a change: other connections may be busy
        db.execute(
            "UPDATE QSYS2.USER_INFO SET SPECIAL_AUTHORITIES = ? WHERE AUTHORIZATION_NAME = ?",
            (held, BOT_PROFILE),
        )


def _hide_audit_values(db: sqlite3.Connection) -> None:
    """This connection's SYSTEM_VALUE_INFO, with the audit values *NOTAVL, as IBM i shows them to a profile
    without *ALLOBJ or *AUDIT."""
    names = ", ".join(f"'{name}'" for name in AUDIT_SYSTEM_VALUES)
    db.execute(
        f"CREATE TABLE {_SYSTEM_VALUES_SEEN} AS SELECT SYSTEM_VALUE_NAME, CURRENT_NUMERIC_VALUE, "
        f"CASE WHEN SYSTEM_VALUE_NAME IN ({names}) THEN '*NOTAVL' ELSE CURRENT_CHARACTER_VALUE END "
        "AS CURRENT_CHARACTER_VALUE FROM QSYS2.SYSTEM_VALUE_INFO"
    )


class DemoCursor:
    def __init__(self, connection: DemoConnection, db: sqlite3.Connection):
        self._connection = connection
        self._db = db
        self._rows: Iterator[tuple[Any, ...]] = iter(())
        self._streamed: sqlite3.Cursor | None = None  # a SELECT's rows come from SQLite as they are fetched
        self.description: tuple[tuple[Any, ...], ...] | None = None
        self.rowcount = -1  # as IBM i drivers report for a SELECT

    def execute(self, statement: str, params: Sequence[Any] = ()) -> DemoCursor:
        self._wait_latency()
        return self._while_open(self._execute, statement, params)

    def _execute(self, statement: str, params: Sequence[Any]) -> DemoCursor:
        if self._connection.fail_statements is not None:
            raise statement_failure(self._connection.fail_statements)
        normalised = _normalise(statement)
        if normalised == sql.RUN_CL_COMMAND:
            self._run_cl(params[0] if params else "")
            self._set_result(None, [])
        elif normalised == _normalise(sql.JOB_LOG_POSITION):
            cursor = self._db.execute(
                f"SELECT ORDINAL_POSITION FROM {JOB_LOG_TABLE} ORDER BY ORDINAL_POSITION DESC LIMIT 1"
            )
            self._set_result(cursor.description, cursor.fetchall())
        elif normalised == _normalise(sql.JOB_LOG_MESSAGES):
            cursor = self._db.execute(
                "SELECT MESSAGE_ID, MESSAGE_TYPE, MESSAGE_TEXT, MESSAGE_TIMESTAMP FROM "
                f"{JOB_LOG_TABLE} WHERE ORDINAL_POSITION > ? ORDER BY ORDINAL_POSITION DESC "
                f"LIMIT {sql.JOB_LOG_LIMIT}",
                tuple(params),
            )
            self._set_result(cursor.description, cursor.fetchall())
        elif normalised == _normalise(sql.SMTP_JOBS):
            cursor = self._db.execute(
                "SELECT JOB_NAME, JOB_STATUS, SUBSYSTEM, JOB_ACTIVE_UTC FROM WARDEN_DEMO.ACTIVE_JOBS"
            )
            self._set_result(cursor.description, cursor.fetchall())
        elif match := _ALIAS.match(normalised):
            self._create_alias(match["alias"], match["member"])
            self._set_result(None, [])
        elif match := journal.ENTRIES.match(normalised):
            self._read_journal(match["type"], int(match["limit"]), params)
        elif normalised == _normalise(sql.IBM_ONLY_STATEMENTS["AUDIT_SYSTEM_TIME"]):
            self._set_result(*journal.system_time())
        else:
            if "*IOSYSCFG" in self._connection.missing_authorities and (view := _IOSYSCFG_VIEWS.search(normalised)):
                # As IBM i 7.6 answers a profile without *IOSYSCFG or QIBM_IOSYSCFG_VIEW (whether it raises an
                # error or returns fewer rows is unconfirmed; the bot must handle both).
                raise DemoError("42501", f"[SQL0551] Not authorized to object {view[1]} in QSYS2 type *FILE.")
            if "NETSTAT_" in normalised:
                self._advance_traffic()
            if not self._connection.audits:
                statement = _SYSTEM_VALUE_INFO.sub(_SYSTEM_VALUES_SEEN, statement)
            try:
                cursor = self._db.execute(statement, tuple(params))
            except sqlite3.Error as error:
                raise as_db2_error(error) from error
            self.close()
            self.description, self._streamed, self._rows = cursor.description, cursor, iter(cursor)
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._while_open(list, self._rows)

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        return self._while_open(list, islice(self._rows, size))

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._while_open(next, self._rows, None)

    def _while_open(self, work: Callable[..., T], *arguments: Any) -> T:
        """`work` on the SQLite connection, holding it against a close; a statement stopped by closing the
        connection fails as on a connection closed under it (08003), whatever SQLite said."""
        with self._connection.in_use:
            self._ensure_open()
            try:
                return work(*arguments)
            except (sqlite3.Error, DemoError):
                self._ensure_open()
                raise

    def close(self) -> None:
        with self._connection.in_use:
            self._rows = iter(())
            streamed, self._streamed = self._streamed, None
            if streamed is not None and not self._connection.closed.is_set():
                streamed.close()

    def _ensure_open(self) -> None:
        if self._connection.closed.is_set():
            raise DemoError("08003", "Connection not open")

    def _set_result(self, description: Any, rows: list[tuple[Any, ...]]) -> None:
        self.close()
        self.description = description
        self._rows = iter(rows)

    def _wait_latency(self) -> None:
        """The configured latency, or, on a hung system, until the connection is closed: as the IBM i Access
        driver, which never interrupts a running statement, behaves when the network or the server job hangs."""
        if self._connection.hang:
            self._connection.closed.wait()
            raise DemoError("08S01", "[IBM][System i Access ODBC Driver] Communication link failure")
        if self._connection.latency > 0:
            time.sleep(self._connection.latency)

    def _create_alias(self, alias: str, member: str) -> None:
        table = member_table(member)
        exists = self._db.execute(
            "SELECT 1 FROM QUSRSYS.sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if not exists:
            raise DemoError("42704", f"[SQL0204] {member} in QUSRSYS type *MEM not found.")
        self._db.execute(f"DROP TABLE IF EXISTS QTEMP.{alias}")
        self._db.execute(f"CREATE TABLE QTEMP.{alias} AS SELECT * FROM QUSRSYS.{table}")

    def _read_journal(self, entry_type: str, limit: int, params: Sequence[Any]) -> None:
        if not self._connection.audits:
            raise journal.not_authorized()
        self._advance_traffic()
        cursor = journal.read_entries(self._db, entry_type, limit, params)
        self.close()
        self.description, self._streamed, self._rows = cursor.description, cursor, iter(cursor)

    def _run_cl(self, text: Any) -> None:
        connection = self._connection
        self._advance_traffic()  # entries due before the command's come first in the journal
        run_command(self._db, str(text), connection.missing_authorities, connection.excluded_commands, connection.job)

    def _advance_traffic(self) -> None:
        advance_traffic(self._db, self._connection.traffic_interval, self._connection.seed)
