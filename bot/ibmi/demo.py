"""The embedded demo IBM i: SQLite files shaped like the IBM i services, behind a DB-API connection.

The product's SQL runs unchanged: each library is a SQLite file attached under the library's name.
`CALL QSYS2.QCMDEXC(?)` is interpreted with the same CL grammar the product builds with (cl.py) and
changes the tables; what the demo does not accept fails as IBM i fails, with SQL0443 carrying the
CL message id. The few Db2-for-i-only statements in sql.IBM_ONLY_STATEMENTS are interpreted here.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import SystemSettings
from bot.ibmi import demo_schema, demo_seed, sql
from bot.ibmi.cl import (
    AddSmtpListEntry,
    ChangeSmtpRelay,
    ClCommand,
    CLParseError,
    CLValidationError,
    EndTcpConnection,
    RemoveSmtpListEntry,
    parse,
)

log = logging.getLogger(__name__)

_SEED_LOCK = threading.Lock()
MAX_TRAFFIC_CATCH_UP = 100  # steps replayed at most when a demo folder was idle for a long time
_ALIAS = re.compile(
    r"^CREATE OR REPLACE ALIAS QTEMP\.(?P<alias>[A-Z_]+) FOR QUSRSYS\.QATMADRLST \((?P<member>[A-Z0-9$#@_.]+)\)$"
)
# The services IBM i 7.6 refuses to a profile without *IOSYSCFG (or the QIBM_IOSYSCFG_VIEW function usage).
_IOSYSCFG_VIEWS = re.compile(r"\bQSYS2\.(NETSTAT_INFO|NETSTAT_JOB_INFO)\b")
# The CL commands that need *IOSYSCFG special authority.
_IOSYSCFG_COMMANDS = (AddSmtpListEntry, RemoveSmtpListEntry, ChangeSmtpRelay)


class DemoError(Exception):
    """A DB-API error shaped like the ODBC driver's: args = (SQLSTATE, message)."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(sqlstate, message)
        self.sqlstate = sqlstate


class CommandFailed(Exception):
    def __init__(self, message_id: str, text: str):
        super().__init__(message_id, text)
        self.message_id = message_id
        self.text = text


def _normalise(statement: str) -> str:
    return " ".join(statement.split()).upper()


def connect_demo(settings: SystemSettings) -> DemoConnection:
    demo = settings.demo
    if demo is None:
        raise ValueError(f"{settings.name} is not a demo system")
    folder = Path(demo.path)
    ensure_demo_system(folder)
    return DemoConnection(
        folder,
        latency=demo.latency,
        query_timeout=settings.query_timeout,
        traffic_interval=demo.traffic_interval if demo.traffic else None,
        seed=demo.seed,
        missing_authorities=demo.missing_authorities,
    )


def _open(folder: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False, timeout=10)
    for library in demo_schema.LIBRARIES:
        connection.execute("ATTACH DATABASE ? AS " + library, (str(folder / f"{library}.sqlite"),))
    connection.execute("ATTACH DATABASE ':memory:' AS QTEMP")
    return connection


def ensure_demo_system(folder: Path) -> None:
    """Create and seed the demo system's files unless they exist already."""
    with _SEED_LOCK:
        folder.mkdir(parents=True, exist_ok=True)
        connection = _open(folder)
        try:
            connection.execute("BEGIN IMMEDIATE")
            for statement in demo_schema.create_statements():
                connection.execute(statement)
            if connection.execute("SELECT COUNT(*) FROM WARDEN_DEMO.TRAFFIC").fetchone()[0] == 0:
                _seed(connection)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()


def _seed(db: sqlite3.Connection) -> None:
    host = demo_seed.HOST
    for address, port, local_port, name, idle, sent, received, user, job in demo_seed.ESTABLISHED:
        _add_connection(db, address, port, local_port, name, idle, sent, received, user, job)
    for local_port, name in demo_seed.LISTENING:
        db.execute(
            "INSERT INTO QSYS2.NETSTAT_INFO VALUES ('IPV4', '0.0.0.0', 0, NULL, '0.0.0.0', ?, ?, 'TCP', "
            "'LISTEN', 0, 'QTCP', 0, 0)",
            (local_port, name),
        )
    db.execute(
        "INSERT INTO QSYS2.NETSTAT_INFO VALUES ('IPV4', '0.0.0.0', 0, NULL, ?, 53, 'domain', 'UDP', NULL, "
        "0, 'QTCP', 0, 0)",
        (host,),
    )
    for name, status, authorities, group, supplemental, text in demo_seed.USERS:
        db.execute(
            "INSERT INTO QSYS2.USER_INFO (AUTHORIZATION_NAME, STATUS, SPECIAL_AUTHORITIES, GROUP_PROFILE_NAME,"
            " SUPPLEMENTAL_GROUP_COUNT, SUPPLEMENTAL_GROUP_LIST, TEXT_DESCRIPTION, PREVIOUS_SIGNON) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, '2026-11-20 08:14:00')",
            (name, status, authorities, group, len(supplemental.split()), supplemental, text),
        )
        for group_name in ([group] if group else []) + supplemental.split():
            db.execute("INSERT INTO QSYS2.GROUP_PROFILE_ENTRIES VALUES (?, ?, ?)", (group_name, name, text))
    for library, name, files, dspdta, oprctl, autchk, public, owner, text in demo_seed.OUTPUT_QUEUES:
        db.execute(
            "INSERT INTO QSYS2.OUTPUT_QUEUE_INFO (OUTPUT_QUEUE_NAME, OUTPUT_QUEUE_LIBRARY_NAME, NUMBER_OF_FILES,"
            " DISPLAY_ANY_FILE, OPERATOR_CONTROLLED, AUTHORITY_TO_CHECK, OUTPUT_QUEUE_STATUS, TEXT_DESCRIPTION)"
            " VALUES (?, ?, ?, ?, ?, ?, 'RELEASED', ?)",
            (name, library, files, dspdta, oprctl, autchk, text),
        )
        for user, authority in (("*PUBLIC", public), (owner, "*ALL")):
            db.execute(
                "INSERT INTO QSYS2.OBJECT_PRIVILEGES VALUES (?, ?, ?, ?, '*OUTQ', ?, ?, ?)",
                (library, name, library, name, user, authority, owner),
            )
    for column, system_column, data_type, length, position in demo_schema.SMTP_LIST_COLUMNS:
        db.execute(
            "INSERT INTO QSYS2.SYSCOLUMNS VALUES (?, ?, 'QUSRSYS', 'QATMADRLST', ?, ?, NULL, 500, ?)",
            (column, system_column, data_type, length, position),
        )
    for list_type, entries in (("*ACCEPT", demo_seed.SMTP_ACCEPT), ("*REJECT", demo_seed.SMTP_REJECT)):
        member = demo_schema.SMTP_LIST_MEMBERS[list_type]
        db.execute("INSERT INTO QSYS2.SYSPARTITIONSTAT VALUES ('QUSRSYS', 'QATMADRLST', ?, 0)", (member,))
        for address, mask in entries:
            _insert_list_entry(db, member, address, mask)
    db.executemany("INSERT INTO WARDEN_DEMO.ACTIVE_JOBS VALUES (?, ?, ?)", demo_seed.SMTP_JOBS)
    db.execute("INSERT INTO WARDEN_DEMO.SMTP_ATTRIBUTES VALUES (?)", (demo_seed.SMTP_RELAY,))
    db.execute("INSERT INTO WARDEN_DEMO.TRAFFIC VALUES (0, ?)", (time.time(),))


def _add_connection(
    db: sqlite3.Connection,
    address: str,
    port: int,
    local_port: int,
    port_name: str,
    idle: float,
    sent: int,
    received: int,
    user: str,
    job: str,
) -> None:
    kind = "IPV6" if ":" in address else "IPV4"
    local = demo_seed.HOST if kind == "IPV4" else ("::ffff:" + demo_seed.HOST if "." in address else "fd00::5")
    if address in ("127.0.0.1", "::1"):
        local = address
    db.execute(
        "INSERT INTO QSYS2.NETSTAT_INFO VALUES (?, ?, ?, NULL, ?, ?, ?, 'TCP', 'ESTABLISHED', ?, ?, ?, ?)",
        (kind, address, port, local, local_port, port_name, idle, "QUSER", sent, received),
    )
    number = 100_000 + zlib.crc32(f"{address}:{port}".encode()) % 900_000
    db.execute(
        "INSERT INTO QSYS2.NETSTAT_JOB_INFO VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL)",
        (kind, address, port, local, local_port, port_name, user, f"{number:06d}/{user}/{job}"),
    )


def _insert_list_entry(db: sqlite3.Connection, member: str, address: str, mask: str) -> None:
    db.execute(f"INSERT INTO QUSRSYS.{demo_schema.member_table(member)} VALUES (?)", (f"{address} {mask}",))
    db.execute(
        "UPDATE QSYS2.SYSPARTITIONSTAT SET NUMBER_ROWS = NUMBER_ROWS + 1 "
        "WHERE SYSTEM_TABLE_NAME = 'QATMADRLST' AND SYSTEM_TABLE_MEMBER = ?",
        (member,),
    )


class DemoConnection:
    """A DB-API 2.0 connection (the subset the bot uses) to the demo system."""

    def __init__(
        self,
        folder: Path,
        latency: float = 0.0,
        query_timeout: float = 30.0,
        traffic_interval: float | None = None,
        seed: int = 1,
        missing_authorities: Sequence[str] = (),
    ):
        self.folder = folder
        self.latency = latency
        self.query_timeout = query_timeout
        self.traffic_interval = traffic_interval
        self.seed = seed
        self.missing_authorities = frozenset(missing_authorities)
        self._db: sqlite3.Connection | None = _open(folder)
        _set_bot_profile_authorities(self._db, self.missing_authorities)

    def cursor(self) -> DemoCursor:
        if self._db is None:
            raise DemoError("08003", "Connection not open")
        return DemoCursor(self, self._db)

    def commit(self) -> None:
        """Statements run in autocommit mode, as the bot's ODBC connections do."""

    def rollback(self) -> None:
        """Nothing to roll back in autocommit mode."""

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _set_bot_profile_authorities(db: sqlite3.Connection, missing: frozenset[str]) -> None:
    """The bot's profile holds its seeded special authorities less the missing ones: set at every connect, so a
    configuration without missing_authorities gets them back."""
    seeded = next(row[2] for row in demo_seed.USERS if row[0] == demo_seed.BOT_PROFILE)
    held = " ".join(authority for authority in seeded.split() if authority not in missing)
    current = db.execute(
        "SELECT SPECIAL_AUTHORITIES FROM QSYS2.USER_INFO WHERE AUTHORIZATION_NAME = ?", (demo_seed.BOT_PROFILE,)
    ).fetchone()
    if current is not None and current[0] != held:  # write only on a change: other connections may be busy
        db.execute(
            "UPDATE QSYS2.USER_INFO SET SPECIAL_AUTHORITIES = ? WHERE AUTHORIZATION_NAME = ?",
            (held, demo_seed.BOT_PROFILE),
        )


class DemoCursor:
    def __init__(self, connection: DemoConnection, db: sqlite3.Connection):
        self._connection = connection
        self._db = db
        self._rows: list[tuple[Any, ...]] = []
        self.description: tuple[tuple[Any, ...], ...] | None = None
        self.rowcount = -1

    def execute(self, statement: str, params: Sequence[Any] = ()) -> DemoCursor:
        self._wait_latency()
        normalised = _normalise(statement)
        if normalised == sql.RUN_CL_COMMAND:
            self._run_cl(params[0] if params else "")
            self._set_result(None, [])
        elif normalised == _normalise(sql.SMTP_JOBS):
            cursor = self._db.execute("SELECT JOB_NAME, JOB_STATUS, SUBSYSTEM FROM WARDEN_DEMO.ACTIVE_JOBS")
            self._set_result(cursor.description, cursor.fetchall())
        elif match := _ALIAS.match(normalised):
            self._create_alias(match["alias"], match["member"])
            self._set_result(None, [])
        else:
            if "*IOSYSCFG" in self._connection.missing_authorities and (view := _IOSYSCFG_VIEWS.search(normalised)):
                # As IBM i 7.6 answers a profile without *IOSYSCFG or QIBM_IOSYSCFG_VIEW (whether it raises an
                # error or returns fewer rows is unconfirmed; the bot must handle both).
                raise DemoError("42501", f"[SQL0551] Not authorized to object {view[1]} in QSYS2 type *FILE.")
            if "NETSTAT_" in normalised:
                self._advance_traffic()
            try:
                cursor = self._db.execute(statement, tuple(params))
            except sqlite3.Error as error:
                raise _as_db2_error(error) from error
            self._set_result(cursor.description, cursor.fetchall())
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def close(self) -> None:
        self._rows = []

    def _set_result(self, description: Any, rows: list[tuple[Any, ...]]) -> None:
        self.description = description
        self._rows = list(rows)
        self.rowcount = len(self._rows)

    def _wait_latency(self) -> None:
        latency = self._connection.latency
        if latency <= 0:
            return
        if latency >= self._connection.query_timeout:
            time.sleep(self._connection.query_timeout)
            raise DemoError("HYT00", "[Microsoft][ODBC Driver Manager] Timeout expired")
        time.sleep(latency)

    def _create_alias(self, alias: str, member: str) -> None:
        table = demo_schema.member_table(member)
        exists = self._db.execute(
            "SELECT 1 FROM QUSRSYS.sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if not exists:
            raise DemoError("42704", f"[SQL0204] {member} in QUSRSYS type *MEM not found.")
        self._db.execute(f"DROP TABLE IF EXISTS QTEMP.{alias}")
        self._db.execute(f"CREATE TABLE QTEMP.{alias} AS SELECT * FROM QUSRSYS.{table}")

    def _run_cl(self, text: Any) -> None:
        try:
            command = parse(str(text))
            if "*IOSYSCFG" in self._connection.missing_authorities and isinstance(command, _IOSYSCFG_COMMANDS):
                # CHGSMTPA and ADDSMTPLE need *IOSYSCFG (IBM; RMVSMTPLE is assumed to mirror ADDSMTPLE). The
                # message id IBM i sends for the missing authority is not confirmed: the demo uses CPF9899.
                raise CommandFailed(
                    "CPF9899",
                    f"Error occurred during processing of command. {command.to_cl().split()[0]} requires "
                    "*IOSYSCFG special authority, which user profile "
                    f"{demo_seed.BOT_PROFILE} does not have.",
                )
            apply_command(self._db, command)
            outcome = "completed"
        except (CLParseError, CLValidationError) as error:
            message_id = getattr(error, "message_id", "CPF0006")
            outcome = f"{message_id}: {error}"
            self._log_command(str(text), outcome)
            raise DemoError("38501", _sql0443(message_id, str(error))) from error
        except CommandFailed as error:
            self._log_command(str(text), f"{error.message_id}: {error.text}")
            raise DemoError("38501", _sql0443(error.message_id, error.text)) from error
        self._log_command(str(text), outcome)

    def _log_command(self, command: str, outcome: str) -> None:
        self._db.execute(
            "INSERT INTO WARDEN_DEMO.COMMAND_LOG VALUES (?, ?, ?)",
            (datetime.now(UTC).isoformat(timespec="seconds"), command[:2000], outcome),
        )

    def _advance_traffic(self) -> None:
        interval = self._connection.traffic_interval
        if not interval:
            return
        step, started_at = self._db.execute("SELECT STEP, STARTED_AT FROM WARDEN_DEMO.TRAFFIC").fetchone()
        due = int((time.time() - started_at) // interval)
        if due <= step:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for number in range(max(step + 1, due - MAX_TRAFFIC_CATCH_UP + 1), due + 1):
                _traffic_step(self._db, self._connection.seed, number)
            self._db.execute("UPDATE WARDEN_DEMO.TRAFFIC SET STEP = ?", (due,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise


def _traffic_step(db: sqlite3.Connection, seed: int, number: int) -> None:
    """One deterministic change: a visitor connects, or a connected visitor leaves."""
    rng = random.Random(seed * 1_000_003 + number)
    address, local_port, port_name, user, job = rng.choice(demo_seed.TRAFFIC_VISITORS)
    present = db.execute(
        "SELECT REMOTE_PORT FROM QSYS2.NETSTAT_INFO WHERE REMOTE_ADDRESS = ? AND LOCAL_PORT = ?",
        (address, local_port),
    ).fetchone()
    if present:
        for table in ("NETSTAT_INFO", "NETSTAT_JOB_INFO"):
            db.execute(f"DELETE FROM QSYS2.{table} WHERE REMOTE_ADDRESS = ? AND LOCAL_PORT = ?", (address, local_port))
    else:
        port = rng.randint(49152, 65535)
        _add_connection(
            db,
            address,
            port,
            local_port,
            port_name,
            rng.uniform(0, 300),
            rng.randint(1_000, 5_000_000),
            rng.randint(500, 400_000),
            user,
            job,
        )


def apply_command(db: sqlite3.Connection, command: ClCommand) -> None:
    """Change the demo's tables as IBM i would for a command that parsed."""
    if isinstance(command, EndTcpConnection):
        _end_connection(db, command)
    elif isinstance(command, AddSmtpListEntry | RemoveSmtpListEntry):
        _change_smtp_list(db, command)
    elif isinstance(command, ChangeSmtpRelay):
        db.execute("UPDATE WARDEN_DEMO.SMTP_ATTRIBUTES SET ALLOW_RELAY = ?", (command.allow_relay,))


def _same_address(text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False


def _end_connection(db: sqlite3.Connection, command: EndTcpConnection) -> None:
    rows = db.execute(
        "SELECT rowid, LOCAL_ADDRESS, REMOTE_ADDRESS FROM QSYS2.NETSTAT_INFO "
        "WHERE PROTOCOL = 'TCP' AND LOCAL_PORT = ? AND REMOTE_PORT = ?",
        (command.local_port, command.remote_port),
    ).fetchall()
    matches = [
        (rowid, remote)
        for rowid, local, remote in rows
        if _same_address(local, command.local_address) and _same_address(remote, command.remote_address)
    ]
    if not matches:
        raise CommandFailed("CPF9899", "Error occurred during processing of command. Connection not found.")
    for rowid, remote in matches:
        db.execute("DELETE FROM QSYS2.NETSTAT_INFO WHERE rowid = ?", (rowid,))
        db.execute(
            "DELETE FROM QSYS2.NETSTAT_JOB_INFO WHERE REMOTE_ADDRESS = ? AND REMOTE_PORT = ? AND LOCAL_PORT = ?",
            (remote, command.remote_port, command.local_port),
        )


def _change_smtp_list(db: sqlite3.Connection, command: AddSmtpListEntry | RemoveSmtpListEntry) -> None:
    member = demo_schema.SMTP_LIST_MEMBERS[command.list_type]
    table = f"QUSRSYS.{demo_schema.member_table(member)}"
    record = f"{command.address} {command.mask}"
    exists = db.execute(f"SELECT rowid FROM {table} WHERE TRIM(ADRLST) = ?", (record,)).fetchone()
    if isinstance(command, AddSmtpListEntry):
        if exists:
            raise CommandFailed("CPF9899", f"Error occurred during processing of command. Entry {record} exists.")
        _insert_list_entry(db, member, str(command.address), str(command.mask))
        return
    if not exists:
        raise CommandFailed("CPF9899", f"Error occurred during processing of command. Entry {record} not found.")
    db.execute(f"DELETE FROM {table} WHERE rowid = ?", (exists[0],))
    db.execute(
        "UPDATE QSYS2.SYSPARTITIONSTAT SET NUMBER_ROWS = NUMBER_ROWS - 1 "
        "WHERE SYSTEM_TABLE_NAME = 'QATMADRLST' AND SYSTEM_TABLE_MEMBER = ?",
        (member,),
    )


def _sql0443(message_id: str, text: str) -> str:
    return (
        "[IBM][System i Access ODBC Driver][DB2 for i5/OS]SQL0443 - Trigger program or external routine "
        f"detected an error. The external name is QCMDEXC in schema QSYS. The associated text is {message_id}. "
        f"{text}"
    )


_NO_SUCH_COLUMN = re.compile(r"no such column: (\S+)")
_NO_SUCH_TABLE = re.compile(r"no such table: (\S+)")


def _as_db2_error(error: sqlite3.Error) -> DemoError:
    message = str(error)
    if match := _NO_SUCH_COLUMN.search(message):
        return DemoError("42703", f"[SQL0206] Column or global variable {match[1]} not found.")
    if match := _NO_SUCH_TABLE.search(message):
        return DemoError("42704", f"[SQL0204] {match[1]} in *LIBL type *FILE not found.")
    if "syntax error" in message:
        return DemoError("42601", f"[SQL0104] Token was not valid. {message}")
    return DemoError("HY000", message)


def demo_relay_policy(folder: Path) -> str:
    """The demo's CHGSMTPA ALWRLY value, for tests and the demo's own display: the product cannot read it."""
    connection = _open(folder)
    try:
        return connection.execute("SELECT ALLOW_RELAY FROM WARDEN_DEMO.SMTP_ATTRIBUTES").fetchone()[0]
    finally:
        connection.close()
