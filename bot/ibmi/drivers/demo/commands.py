"""The demo's QCMDEXC: CL parsed with the product's own grammar (cl.py) and applied to the demo's tables."""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Collection
from datetime import UTC, datetime
from typing import NoReturn

from bot.ibmi.cl import (
    LIBRARY,
    AddSmtpListEntry,
    ChangeSmtpRelay,
    ClCommand,
    CLParseError,
    CLValidationError,
    EndTcpConnection,
    EndTcpServer,
    RemoveSmtpListEntry,
    StartTcpServer,
    parse,
)
from bot.ibmi.drivers.demo import schema, seed
from bot.ibmi.drivers.demo.errors import CommandFailed, DemoError, sql0443
from bot.ibmi.drivers.demo.journal import Job
from bot.ibmi.drivers.demo.journal_story import bot_command
from bot.ibmi.drivers.demo.store import insert_list_entry

# The CL commands that need *IOSYSCFG special authority (whether ENDTCPSVR and STRTCPSVR SERVER(*SMTP) do is
# unconfirmed; the demo does not refuse them).
_IOSYSCFG_COMMANDS = (AddSmtpListEntry, RemoveSmtpListEntry, ChangeSmtpRelay)

# The demo job's job log, read through QSYS2.JOBLOG_INFO('*'): one per connection, as each server job has its own.
JOB_LOG_TABLE = "QTEMP.WARDEN_JOBLOG"
JOB_LOG_COLUMNS = """
    ORDINAL_POSITION INTEGER PRIMARY KEY,
    MESSAGE_ID VARCHAR(7),
    MESSAGE_TYPE VARCHAR(13),
    MESSAGE_TEXT VARCHAR(1024),
    MESSAGE_TIMESTAMP TEXT"""
ERRORS_IN_COMMAND = "Errors occurred in command."


def run_command(
    db: sqlite3.Connection,
    text: str,
    missing_authorities: Collection[str],
    excluded_commands: Collection[str] = (),
    job: Job | None = None,
) -> None:
    """Run one CL command as QCMDEXC would: log it with its outcome in WARDEN_DEMO.COMMAND_LOG, and a failure's
    messages in the job log (docs/demo-system.md names the IBM source of each message id). A command that gets to
    run leaves a CD entry in the audit journal for `job`, the bot's server job."""
    try:
        command = parse(text)
        name = type(command).cl_name
        if name in excluded_commands:
            # The command object is *EXCLUDE to the profile: found while the command is checked, before it runs.
            raise _Refused(("CPD0032", f"Not authorized to command {name} in library {LIBRARY}."))
        if job is not None:
            bot_command(db, text, job)
        if "*IOSYSCFG" in missing_authorities and isinstance(command, _IOSYSCFG_COMMANDS):
            # IBM's TCP/IP configuration commands end with TCP8050 when the profile lacks *IOSYSCFG (RMVSMTPLE is
            # assumed to mirror ADDSMTPLE and CHGSMTPA, whose pages name the restriction).
            raise CommandFailed("TCP8050", f"*IOSYSCFG authority required to use {name}.")
        apply_command(db, command)
    except (CLParseError, CLValidationError) as error:
        detail = error.detail if isinstance(error, CLParseError) else str(error)
        detail_id = error.detail_id if isinstance(error, CLParseError) else None
        _fail(db, text, (detail_id, detail), ("CPF0006", ERRORS_IN_COMMAND), error)
    except _Refused as refused:
        _fail(db, text, refused.diagnostic, ("CPF0006", ERRORS_IN_COMMAND), refused)
    except CommandFailed as error:
        _fail(db, text, None, (error.message_id, error.text), error)
    _log_command(db, text, "completed")


class _Refused(Exception):
    """A command IBM i refuses while checking it: a diagnostic, then CPF0006."""

    def __init__(self, diagnostic: tuple[str | None, str]):
        super().__init__(*diagnostic)
        self.diagnostic = diagnostic


def _fail(
    db: sqlite3.Connection,
    text: str,
    diagnostic: tuple[str | None, str] | None,
    escape: tuple[str, str],
    cause: Exception,
) -> NoReturn:
    """Record a failed command as IBM i would (job log: the diagnostic, the escape message, then the SQL
    interface's SQL0443) and raise the driver's error, which names only the escape message."""
    if diagnostic is not None:
        _log_message(db, diagnostic[0], "DIAGNOSTIC", diagnostic[1])
    _log_message(db, escape[0], "ESCAPE", escape[1])
    driver_text = sql0443(escape[0], escape[1] if diagnostic is None else f"{escape[1]} {diagnostic[1]}")
    _log_message(db, "SQL0443", "DIAGNOSTIC", driver_text.split("]")[-1])
    _log_command(db, text, f"{escape[0]}: {escape[1]}" + (f" {diagnostic[1]}" if diagnostic else ""))
    raise DemoError("38501", driver_text) from cause


def _log_message(db: sqlite3.Connection, message_id: str | None, message_type: str, text: str) -> None:
    db.execute(
        f"INSERT INTO {JOB_LOG_TABLE} (MESSAGE_ID, MESSAGE_TYPE, MESSAGE_TEXT, MESSAGE_TIMESTAMP) VALUES (?, ?, ?, ?)",
        (message_id, message_type, text[:1024], datetime.now(UTC).isoformat(sep=" ")),
    )


def _log_command(db: sqlite3.Connection, command: str, outcome: str) -> None:
    db.execute(
        "INSERT INTO WARDEN_DEMO.COMMAND_LOG VALUES (?, ?, ?)",
        (datetime.now(UTC).isoformat(timespec="seconds"), command[:2000], outcome),
    )


def apply_command(db: sqlite3.Connection, command: ClCommand) -> None:
    """Change the demo's tables as IBM i would for a command that parsed."""
    if isinstance(command, EndTcpConnection):
        _end_connection(db, command)
    elif isinstance(command, AddSmtpListEntry | RemoveSmtpListEntry):
        _change_smtp_list(db, command)
    elif isinstance(command, ChangeSmtpRelay):
        db.execute("UPDATE WARDEN_DEMO.SMTP_ATTRIBUTES SET ALLOW_RELAY = ?", (command.allow_relay,))
    elif isinstance(command, EndTcpServer):
        db.execute("DELETE FROM WARDEN_DEMO.ACTIVE_JOBS WHERE JOB_NAME LIKE '%/QTSMTP%'")
    elif isinstance(command, StartTcpServer):
        _start_smtp(db)


def _start_smtp(db: sqlite3.Connection) -> None:
    """STRTCPSVR SERVER(*SMTP): new SMTP server jobs (new job numbers, a new start time), which read the lists
    as they start; a server already running is left as it is, as IBM i does."""
    if db.execute("SELECT 1 FROM WARDEN_DEMO.ACTIVE_JOBS WHERE JOB_NAME LIKE '%/QTSMTP%'").fetchone():
        return
    started = datetime.now(UTC).isoformat(sep=" ")
    count = db.execute("SELECT COUNT(*) FROM WARDEN_DEMO.COMMAND_LOG").fetchone()[0]
    for index, (name, status, subsystem) in enumerate(seed.SMTP_JOBS):
        number, _, rest = name.partition("/")
        renumbered = f"{(int(number) + 100 + count * 2 + index) % 1_000_000:06d}/{rest}"
        db.execute("INSERT INTO WARDEN_DEMO.ACTIVE_JOBS VALUES (?, ?, ?, ?)", (renumbered, status, subsystem, started))


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
    member = schema.SMTP_LIST_MEMBERS[command.list_type]
    table = f"QUSRSYS.{schema.member_table(member)}"
    record = f"{command.address} {command.mask}"
    exists = db.execute(f"SELECT rowid FROM {table} WHERE TRIM(ADRLST) = ?", (record,)).fetchone()
    if isinstance(command, AddSmtpListEntry):
        if exists:
            raise CommandFailed("CPF9899", f"Error occurred during processing of command. Entry {record} exists.")
        insert_list_entry(db, member, str(command.address), str(command.mask))
        return
    if not exists:
        raise CommandFailed("CPF9899", f"Error occurred during processing of command. Entry {record} not found.")
    db.execute(f"DELETE FROM {table} WHERE rowid = ?", (exists[0],))
    db.execute(
        "UPDATE QSYS2.SYSPARTITIONSTAT SET NUMBER_ROWS = NUMBER_ROWS - 1 "
        "WHERE SYSTEM_TABLE_NAME = 'QATMADRLST' AND SYSTEM_TABLE_MEMBER = ?",
        (member,),
    )
