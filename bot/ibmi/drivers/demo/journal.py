"""The demo's security audit journal, QSYS/QAUDJRN: entries written in journal order into the SYSTOOLS tables, and
the statements of bot/ibmi/audit_journal.py that only Db2 for i runs, answered from them.

The demo's clock is UTC and is its local time: CURRENT TIMESTAMP and every ENTRY_TIMESTAMP are UTC. Entries keep
journal order: each gets the next SEQUENCE_NUMBER (one sequence for all entry types, as one journal has) and a
timestamp no earlier than the entry before it.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.ibmi.audit_journal import ENTRY_TYPES, timestamp_text
from bot.ibmi.drivers.demo.errors import DemoError
from bot.ibmi.drivers.demo.schema import journal_columns, journal_table

# sql.IBM_ONLY_STATEMENTS["AUDIT_JOURNAL_ENTRIES"] for any entry type and row count, as normalised by the cursor.
ENTRIES = re.compile(
    r"^SELECT \* FROM TABLE\(SYSTOOLS\.AUDIT_JOURNAL_(?P<type>PW|CP|CD|AF)\("
    r"STARTING_TIMESTAMP => CAST\(\? AS TIMESTAMP\)\)\) AS ENTRIES FETCH FIRST (?P<limit>[1-9][0-9]*) ROWS ONLY$"
)
JOURNAL = ("QSYS", "QAUDJRN")
RECEIVERS = (("QSYS", "QAUDRCV0041", "ONLINE"), ("QSYS", "QAUDRCV0042", "ATTACHED"))  # oldest first


def not_authorized() -> DemoError:
    """A journal read by a profile without the authority (the message IBM i gives is unconfirmed)."""
    return DemoError("42501", "[SQL0551] Not authorized to object QAUDJRN in QSYS type *JRN.")


def demo_now() -> datetime:
    """The demo's clock: UTC, which is its local time, without a zone as Db2 timestamps are."""
    return datetime.fromtimestamp(time.time(), UTC).replace(tzinfo=None)


def as_text(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="microseconds")


@dataclass(frozen=True)
class Job:
    name: str
    user: str
    number: str  # six digits

    @property
    def qualified(self) -> str:
        return f"{self.number}/{self.user}/{self.name}"


@dataclass(frozen=True)
class Entry:
    """One entry to write: its header, and its entry type's own columns by IBM's names."""

    entry_type: str
    at: datetime  # moved forward when the journal already holds a later entry
    user: str
    job: Job
    program: tuple[str, str] | None = None  # library, name
    remote: tuple[str, int] | None = None  # address, port
    values: dict[str, Any] = field(default_factory=dict)

    def row(self, timestamp: str, sequence: int) -> tuple[Any, ...]:
        library, program = self.program or (None, None)
        address, port = self.remote or (None, None)
        header = (timestamp, sequence, self.user, self.job.qualified, self.job.name, self.job.user, self.job.number)
        own = [self.values.get(column) for column in journal_columns(self.entry_type)[len(header) + 4 :]]
        return (*header, library, program, address, port, *own)


def last_written(db: sqlite3.Connection) -> tuple[int, str]:
    """The highest sequence number and the latest timestamp in the journal (0 and "" when it is empty)."""
    sequence, latest = 0, ""
    for entry_type in ENTRY_TYPES:
        table = journal_table(entry_type)
        top = db.execute(f"SELECT MAX(SEQUENCE_NUMBER), MAX(ENTRY_TIMESTAMP) FROM {table}").fetchone()
        sequence, latest = max(sequence, top[0] or 0), max(latest, top[1] or "")
    return sequence, latest


def append(db: sqlite3.Connection, entries: Iterable[Entry]) -> None:
    """Write entries after those in the journal, in the order given; inside the caller's transaction if one is open,
    else in one of their own (other connections may write at the same time)."""
    own_transaction = not db.in_transaction
    if own_transaction:
        db.execute("BEGIN IMMEDIATE")
    try:
        sequence, latest = last_written(db)
        for entry in entries:
            sequence += 1
            latest = max(latest, as_text(entry.at))
            row = entry.row(latest, sequence)
            db.execute(f"INSERT INTO {journal_table(entry.entry_type)} VALUES ({', '.join('?' * len(row))})", row)
        if own_transaction:
            db.execute("COMMIT")
    except BaseException:
        if own_transaction:
            db.execute("ROLLBACK")
        raise


def is_empty(db: sqlite3.Connection) -> bool:
    return last_written(db)[0] == 0


def read_entries(db: sqlite3.Connection, entry_type: str, limit: int, params: Sequence[Any]) -> sqlite3.Cursor:
    """SYSTOOLS.AUDIT_JOURNAL_<type>(STARTING_TIMESTAMP => ?) FETCH FIRST <limit> ROWS: the entries from the first
    at or after the timestamp on, in journal order, by key (the timestamp index finds the first, the sequence
    walks on), so reading late in a long journal costs what reading early does."""
    since = _starting_timestamp(params[0] if params else None)
    table = journal_table(entry_type)
    try:
        return db.execute(
            f"SELECT * FROM {table} WHERE +ENTRY_TIMESTAMP >= ? AND SEQUENCE_NUMBER >= ("
            f"SELECT SEQUENCE_NUMBER FROM {table} WHERE ENTRY_TIMESTAMP >= ? "
            "ORDER BY ENTRY_TIMESTAMP, SEQUENCE_NUMBER LIMIT 1) ORDER BY SEQUENCE_NUMBER LIMIT ?",
            (since, since, limit),
        )
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
        # The demo folder stands for a system without the function (its table dropped), as IBM i answers then.
        raise DemoError("42704", f"[SQL0204] AUDIT_JOURNAL_{entry_type} in SYSTOOLS type *N not found.") from error


def _starting_timestamp(value: Any) -> str:
    try:
        return timestamp_text(value)
    except ValueError:
        raise DemoError("22007", f"[SQL0180] Syntax of date, time, or timestamp value not valid: {value!r}.") from None


def system_time() -> tuple[tuple[tuple[Any, ...], ...], list[tuple[Any, ...]]]:
    """SELECT CURRENT TIMESTAMP AS NOW FROM SYSIBM.SYSDUMMY1: a description and the one row."""
    return (("NOW", None, None, None, None, None, None),), [(as_text(demo_now()),)]
