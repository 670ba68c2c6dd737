"""The demo's QCMDEXC: CL parsed with the product's own grammar (cl.py) and applied to the demo's tables."""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Collection
from datetime import UTC, datetime

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
from bot.ibmi.drivers.demo import schema, seed
from bot.ibmi.drivers.demo.errors import CommandFailed, DemoError, sql0443
from bot.ibmi.drivers.demo.store import insert_list_entry

# The CL commands that need *IOSYSCFG special authority.
_IOSYSCFG_COMMANDS = (AddSmtpListEntry, RemoveSmtpListEntry, ChangeSmtpRelay)


def run_command(db: sqlite3.Connection, text: str, missing_authorities: Collection[str]) -> None:
    """Run one CL command as QCMDEXC would, and log it with its outcome in WARDEN_DEMO.COMMAND_LOG."""
    try:
        command = parse(text)
        if "*IOSYSCFG" in missing_authorities and isinstance(command, _IOSYSCFG_COMMANDS):
            # CHGSMTPA and ADDSMTPLE need *IOSYSCFG (IBM; RMVSMTPLE is assumed to mirror ADDSMTPLE). The
            # message id IBM i sends for the missing authority is not confirmed: the demo uses CPF9899.
            raise CommandFailed(
                "CPF9899",
                f"Error occurred during processing of command. {command.to_cl().split()[0]} requires "
                "*IOSYSCFG special authority, which user profile "
                f"{seed.BOT_PROFILE} does not have.",
            )
        apply_command(db, command)
        outcome = "completed"
    except (CLParseError, CLValidationError) as error:
        message_id = getattr(error, "message_id", "CPF0006")
        outcome = f"{message_id}: {error}"
        _log_command(db, text, outcome)
        raise DemoError("38501", sql0443(message_id, str(error))) from error
    except CommandFailed as error:
        _log_command(db, text, f"{error.message_id}: {error.text}")
        raise DemoError("38501", sql0443(error.message_id, error.text)) from error
    _log_command(db, text, outcome)


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
