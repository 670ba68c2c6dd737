"""The demo system's files: one SQLite file per library, attached under the library's name; created and seeded
once, with the story of seed.py."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.ibmi.drivers.demo import schema, seed
from bot.ibmi.drivers.demo.journal_story import ensure_journal

_SEED_LOCK = threading.Lock()


def open_libraries(folder: Path) -> sqlite3.Connection:
    """A SQLite connection with every library attached under its name, and an empty QTEMP."""
    connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False, timeout=10)
    for library in schema.LIBRARIES:
        connection.execute("ATTACH DATABASE ? AS " + library, (str(folder / f"{library}.sqlite"),))
    connection.execute("ATTACH DATABASE ':memory:' AS QTEMP")
    return connection


def ensure_demo_system(folder: Path) -> None:
    """Create and seed the demo system's files unless they exist already."""
    with _SEED_LOCK:
        folder.mkdir(parents=True, exist_ok=True)
        connection = open_libraries(folder)
        try:
            connection.execute("BEGIN IMMEDIATE")
            for statement in schema.create_statements():
                connection.execute(statement)
            _add_job_start_times(connection)
            if connection.execute("SELECT COUNT(*) FROM WARDEN_DEMO.TRAFFIC").fetchone()[0] == 0:
                _seed(connection)
            ensure_journal(connection)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()


def _add_job_start_times(db: sqlite3.Connection) -> None:
    """A demo folder made before job start times were kept gets the column, its jobs started now."""
    columns = {row[1] for row in db.execute("PRAGMA WARDEN_DEMO.table_info(ACTIVE_JOBS)")}
    if "JOB_ACTIVE_UTC" not in columns:
        db.execute("ALTER TABLE WARDEN_DEMO.ACTIVE_JOBS ADD COLUMN JOB_ACTIVE_UTC TEXT")
        started = datetime.fromtimestamp(time.time(), UTC).isoformat(sep=" ", timespec="seconds")
        db.execute("UPDATE WARDEN_DEMO.ACTIVE_JOBS SET JOB_ACTIVE_UTC = ?", (started,))


def _seed(db: sqlite3.Connection) -> None:
    host = seed.HOST
    for address, port, local_port, name, idle, sent, received, user, job in seed.ESTABLISHED:
        add_connection(db, address, port, local_port, name, idle, sent, received, user, job)
    for local_port, name in seed.LISTENING:
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
    for name, status, authorities, group, supplemental, text in seed.USERS:
        db.execute(
            "INSERT INTO QSYS2.USER_INFO (AUTHORIZATION_NAME, STATUS, SPECIAL_AUTHORITIES, GROUP_PROFILE_NAME,"
            " SUPPLEMENTAL_GROUP_COUNT, SUPPLEMENTAL_GROUP_LIST, TEXT_DESCRIPTION, PREVIOUS_SIGNON) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, '2026-11-20 08:14:00')",
            (name, status, authorities, group, len(supplemental.split()), supplemental, text),
        )
        for group_name in ([group] if group else []) + supplemental.split():
            db.execute("INSERT INTO QSYS2.GROUP_PROFILE_ENTRIES VALUES (?, ?, ?)", (group_name, name, text))
    for library, name, files, dspdta, oprctl, autchk, public, owner, text in seed.OUTPUT_QUEUES:
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
    for column, system_column, data_type, length, position in schema.SMTP_LIST_COLUMNS:
        db.execute(
            "INSERT INTO QSYS2.SYSCOLUMNS VALUES (?, ?, 'QUSRSYS', 'QATMADRLST', ?, ?, NULL, 500, ?)",
            (column, system_column, data_type, length, position),
        )
    for list_type, entries in (("*ACCEPT", seed.SMTP_ACCEPT), ("*REJECT", seed.SMTP_REJECT)):
        member = schema.SMTP_LIST_MEMBERS[list_type]
        db.execute("INSERT INTO QSYS2.SYSPARTITIONSTAT VALUES ('QUSRSYS', 'QATMADRLST', ?, 0)", (member,))
        for address, mask in entries:
            insert_list_entry(db, member, address, mask)
    started = datetime.fromtimestamp(time.time(), UTC).isoformat(sep=" ", timespec="seconds")
    db.executemany(
        "INSERT INTO WARDEN_DEMO.ACTIVE_JOBS VALUES (?, ?, ?, ?)", [(*job, started) for job in seed.SMTP_JOBS]
    )
    db.execute("INSERT INTO WARDEN_DEMO.SMTP_ATTRIBUTES VALUES (?)", (seed.SMTP_RELAY,))
    db.execute("INSERT INTO WARDEN_DEMO.TRAFFIC VALUES (0, ?)", (time.time(),))


def set_release(db: sqlite3.Connection, release: str) -> None:
    """Report `release` ("7.5") in ENV_SYS_INFO and its Db2 PTF group (the newest level and the one before it)
    in GROUP_PTF_INFO; written only on a change, as other connections may be busy."""
    version, _, point = release.partition(".")
    current = db.execute("SELECT OS_VERSION, OS_RELEASE FROM SYSIBMADM.ENV_SYS_INFO").fetchall()
    if current == [(version, point)]:
        return
    group, level = seed.DB2_PTF_GROUPS[release]
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM SYSIBMADM.ENV_SYS_INFO")
        db.execute(
            "INSERT INTO SYSIBMADM.ENV_SYS_INFO VALUES ('OS400', ?, ?, 'DEMO', 4, 2, 65536, 65536)", (version, point)
        )
        db.execute("DELETE FROM QSYS2.GROUP_PTF_INFO")
        for each in (level - 1, level):
            db.execute(
                "INSERT INTO QSYS2.GROUP_PTF_INFO VALUES (CURRENT_TIMESTAMP, ?, 'DB2 FOR IBM I', ?, ?, 'INSTALLED')",
                (group, each, f"V{version}R{point}M0"),
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def add_connection(
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
    local = seed.HOST if kind == "IPV4" else ("::ffff:" + seed.HOST if "." in address else "fd00::5")
    if address in ("127.0.0.1", "::1"):
        local = address
    db.execute(
        "INSERT INTO QSYS2.NETSTAT_INFO VALUES (?, ?, ?, NULL, ?, ?, ?, 'TCP', 'ESTABLISHED', ?, ?, ?, ?)",
        (kind, address, port, local, local_port, port_name, idle, "QUSER", sent, received),
    )
    db.execute(
        "INSERT INTO QSYS2.NETSTAT_JOB_INFO VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL)",
        (kind, address, port, local, local_port, port_name, user, f"{seed.job_number(address, port)}/{user}/{job}"),
    )


def insert_list_entry(db: sqlite3.Connection, member: str, address: str, mask: str) -> None:
    db.execute(f"INSERT INTO QUSRSYS.{schema.member_table(member)} VALUES (?)", (f"{address} {mask}",))
    db.execute(
        "UPDATE QSYS2.SYSPARTITIONSTAT SET NUMBER_ROWS = NUMBER_ROWS + 1 "
        "WHERE SYSTEM_TABLE_NAME = 'QATMADRLST' AND SYSTEM_TABLE_MEMBER = ?",
        (member,),
    )


def demo_relay_policy(folder: Path) -> str:
    """The demo's CHGSMTPA ALWRLY value, for tests and the demo's own display: the product cannot read it."""
    connection = open_libraries(folder)
    try:
        return connection.execute("SELECT ALLOW_RELAY FROM WARDEN_DEMO.SMTP_ATTRIBUTES").fetchone()[0]
    finally:
        connection.close()
