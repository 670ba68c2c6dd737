"""Reading the security audit journal (QSYS/QAUDJRN) through IBM's SQL services, one entry type at a time.

Each entry type has its own table function, SYSTOOLS.AUDIT_JOURNAL_<type> ("AUDIT JOURNAL table function common
information", IBM Documentation, rzajqudfauditjournalcommon): every one takes the same parameters and returns the
same first columns (the entry header), then the columns of its entry type. Which Db2 PTF group level brought each
function is unconfirmed: a third-party article dates PW and AF to 7.3 TR10 / 7.4 TR4 and CD and CP to 7.3 TR11 /
7.4 TR5. The bot does not guess from levels: a system without the function answers SQL0204, which the checks report
as "cannot see" (bot.checks.visibility).

Incremental reading. STARTING_TIMESTAMP and STARTING_SEQUENCE cannot both be given (IBM, common information), and a
journal's sequence numbers may restart at 1 when a receiver is attached (IBM, "Standard heading fields for audit
journal entries", QJORDJE5), so the position kept is a timestamp, the way IBM's own examples and open-source
collectors that run on IBM i read these functions: every read starts at the last timestamp taken in, and the entries
at exactly that timestamp already taken in are recognised by their key and skipped. The function's default starting
receiver, *CURAVLCHN, reads the receivers still available; when the receiver that was attached at the last read is
gone, entries after the position may have gone with it, and the reader says so (`ReceiverCheck`).

Columns. Confirmed in IBM's documentation or IBM's example SQL: ENTRY_TIMESTAMP, USER_NAME, JOB_NAME, PROGRAM_NAME,
PROGRAM_LIBRARY, REMOTE_ADDRESS (IBM Support "IBM i Audit Journal User Profile Changes - SYSTOOLS.AUDIT_JOURNAL_CP"),
JOB_USER and JOB_NUMBER (IBM Support "Auditing PTF Operations" selects them from SYSTOOLS.AUDIT_JOURNAL_PF; the header
columns are common to every function), and the entry-specific columns each check cites. Unconfirmed for these
functions: SEQUENCE_NUMBER (DISPLAY_JOURNAL has it), QUALIFIED_JOB_NAME and REMOTE_PORT. The statement therefore
selects `*` and takes the columns by name; a column a system does not return is None, and an entry without a sequence
number is keyed by a digest of all its values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from bot.ibmi.table import Table

if TYPE_CHECKING:  # sql.IBM_ONLY_STATEMENTS names this module's statements
    from bot.ibmi.sql import Queryable

# The entry types the checks read: PW (password), CP (user profile changes), CD (command strings), AF (authority
# failures). IBM, "Security auditing journal entries" and the AUDIT_JOURNAL_PW/CP/CD/AF pages.
ENTRY_TYPES = ("PW", "CP", "CD", "AF")
MAX_BATCH = 100_000  # the most entries one statement may ask for

HEADER_COLUMNS = (
    "ENTRY_TIMESTAMP",
    "SEQUENCE_NUMBER",
    "USER_NAME",
    "QUALIFIED_JOB_NAME",
    "JOB_NAME",
    "JOB_USER",
    "JOB_NUMBER",
    "PROGRAM_LIBRARY",
    "PROGRAM_NAME",
    "REMOTE_ADDRESS",
    "REMOTE_PORT",
)
# Header columns that appear on some functions and carry nothing a check uses.
_IGNORED_HEADER = frozenset({"JOURNAL_CODE", "JOURNAL_ENTRY_TYPE", "THREAD", "SYSTEM_NAME", "SYSTEM_SEQUENCE_NUMBER"})

SYSTEM_TIME = "SELECT CURRENT TIMESTAMP AS NOW FROM SYSIBM.SYSDUMMY1"

# QSYS2.JOURNAL_INFO (IBM Documentation, rzajqviewjournalinfo): ATTACHED_JOURNAL_RECEIVER_NAME/_LIBRARY are null
# when no receiver is attached.
ATTACHED_RECEIVER = """
SELECT ATTACHED_JOURNAL_RECEIVER_LIBRARY, ATTACHED_JOURNAL_RECEIVER_NAME
  FROM QSYS2.JOURNAL_INFO
 WHERE JOURNAL_LIBRARY = 'QSYS' AND JOURNAL_NAME = 'QAUDJRN'
"""

# QSYS2.JOURNAL_RECEIVER_INFO (IBM Documentation, rzajqviewjrnrcvinfo).
RECEIVER_EXISTS = """
SELECT COUNT(*) AS FOUND
  FROM QSYS2.JOURNAL_RECEIVER_INFO
 WHERE JOURNAL_RECEIVER_LIBRARY = ? AND JOURNAL_RECEIVER_NAME = ?
"""


# QSYS2.SYSTEM_VALUE_INFO (IBM Documentation, rzajqviewsysvalinfo): "The caller must have *ALLOBJ or *AUDIT special
# authority to retrieve the values for QAUDCTL, ... QAUDLVL, QAUDLVL2 ... The value of *NOTAVL or -1 is returned
# when accessed by an unauthorized user." How a list value is laid out in CURRENT_CHARACTER_VALUE is unconfirmed:
# it is split on blanks, never compared whole.
AUDIT_SYSTEM_VALUES = """
SELECT SYSTEM_VALUE_NAME, CURRENT_CHARACTER_VALUE
  FROM QSYS2.SYSTEM_VALUE_INFO
 WHERE SYSTEM_VALUE_NAME IN ('QAUDCTL', 'QAUDLVL', 'QAUDLVL2')
"""
NOT_AVAILABLE = "*NOTAVL"


def read_audit_values(conn: Queryable) -> dict[str, tuple[str, ...] | None]:
    """QAUDCTL, QAUDLVL and QAUDLVL2, each as its values (upper case); None when the system would not say
    (*NOTAVL: the profile lacks *ALLOBJ and *AUDIT) or did not return it."""
    found: dict[str, tuple[str, ...] | None] = {"QAUDCTL": None, "QAUDLVL": None, "QAUDLVL2": None}
    for row in conn.query(AUDIT_SYSTEM_VALUES):
        name = str(row["SYSTEM_VALUE_NAME"]).strip().upper()
        values = tuple(str(row["CURRENT_CHARACTER_VALUE"] or "").upper().split())
        if name in found:
            found[name] = None if NOT_AVAILABLE in values else values
    return found


def entries_statement(entry_type: str, limit: int) -> str:
    """The entries of one type from a timestamp on, at most `limit` of them, in the order the journal holds them
    (the function's order; the statement has no ORDER BY, which would make Db2 read every entry of the chain
    before returning the first). Both values are checked, never text from outside."""
    if entry_type not in ENTRY_TYPES:
        raise ValueError(f"audit journal entry type {entry_type!r} is not one of {', '.join(ENTRY_TYPES)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BATCH:
        raise ValueError(f"the entries read at once must be a whole number from 1 to {MAX_BATCH}, not {limit!r}")
    return (
        f"SELECT * FROM TABLE(SYSTOOLS.AUDIT_JOURNAL_{entry_type}("
        "STARTING_TIMESTAMP => CAST(? AS TIMESTAMP))) AS ENTRIES "
        f"FETCH FIRST {limit} ROWS ONLY"
    )


_NO_VALUES: Mapping[str, Any] = MappingProxyType({})


class JournalEntry(NamedTuple):
    """One audit journal entry: the header the bot uses, and the columns of its entry type by IBM's names. A named
    tuple: a backlog's entries are built by the hundred thousand, without a Python call each (`_entries`)."""

    entry_type: str
    timestamp: str  # ENTRY_TIMESTAMP, the system's local time, as "YYYY-MM-DD HH:MM:SS.ffffff"
    sequence: int | None = None
    user: str | None = None  # USER_NAME: the user profile of the job that made the entry
    job: str | None = None  # number/user/name where the system says all three, else the job name
    program: str | None = None  # library/name
    remote_address: str | None = None
    remote_port: int | None = None
    values: Mapping[str, Any] = _NO_VALUES  # the entry type's own columns, text stripped

    @property
    def key(self) -> str:
        """What tells this entry apart from another at the same timestamp."""
        if self.sequence is not None:
            return f"{self.timestamp}#{self.sequence}"
        digest = hashlib.sha256(json.dumps(self.to_json(), sort_keys=True, default=str).encode()).hexdigest()[:16]
        return f"{self.timestamp}~{digest}"

    def text(self, column: str) -> str | None:
        """An entry-specific value as text: stripped, None when null or blank."""
        value = self.values.get(column)
        if value is None:
            return None
        if type(value) is str and (not value or (value[0] > " " and value[-1] > " ")):  # stripped when read
            return value or None
        text = str(value).strip()
        return text or None

    def to_json(self) -> dict[str, Any]:
        return {
            "entry_type": self.entry_type,
            "timestamp": self.timestamp,
            "sequence": self.sequence,
            "user": self.user,
            "job": self.job,
            "program": self.program,
            "remote_address": self.remote_address,
            "remote_port": self.remote_port,
            "values": dict(self.values),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JournalEntry:
        return cls(
            entry_type=data["entry_type"],
            timestamp=data["timestamp"],
            sequence=data.get("sequence"),
            user=data.get("user"),
            job=data.get("job"),
            program=data.get("program"),
            remote_address=data.get("remote_address"),
            remote_port=data.get("remote_port"),
            values=dict(data.get("values") or {}),
        )


def timestamp_text(value: Any) -> str:
    """A Db2 timestamp as the drivers return it (datetime, or text in ISO or IBM's 'YYYY-MM-DD-HH.MM.SS.ffffff'
    form) as "YYYY-MM-DD HH:MM:SS.ffffff"; ValueError for anything else."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    text = str(value).strip()
    if len(text) >= 19 and text[10] == "-" and text[13] == ".":  # IBM's form: 2026-12-03-05.31.00.000000
        text = f"{text[:10]} {text[11:13]}:{text[14:16]}:{text[17:]}"
    try:
        parsed = datetime.fromisoformat(text.replace("T", " "))
    except ValueError:
        raise ValueError(f"{value!r} is not a timestamp") from None
    return parsed.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _entries(entry_type: str, table: Table) -> list[JournalEntry]:
    """The entries of one block of rows, converted a column at a time (a backlog comes by the hundred thousand)."""
    names = table.names
    if "ENTRY_TIMESTAMP" not in names:
        raise KeyError(f"SYSTOOLS.AUDIT_JOURNAL_{entry_type} returned no ENTRY_TIMESTAMP column ({', '.join(names)})")
    if not table.rows:
        return []
    columns = list(zip(*table.rows, strict=True))
    nulls = (None,) * len(table.rows)

    def column(name: str) -> Sequence[Any]:
        return columns[names.index(name)] if name in names else nulls

    own = [i for i, name in enumerate(names) if name not in HEADER_COLUMNS and name not in _IGNORED_HEADER]
    own_names = [names[i] for i in own]
    own_values = zip(*(_stripped_column(columns[i]) for i in own), strict=True) if own else ((),) * len(table.rows)
    libraries, programs = _stripped_column(column("PROGRAM_LIBRARY")), _stripped_column(column("PROGRAM_NAME"))
    jobs = _jobs(
        *(_stripped_column(column(name)) for name in ("QUALIFIED_JOB_NAME", "JOB_NAME", "JOB_USER", "JOB_NUMBER"))
    )
    rows = zip(
        (entry_type,) * len(table.rows),
        _timestamps(column("ENTRY_TIMESTAMP")),
        map(_whole, column("SEQUENCE_NUMBER")),
        _stripped_column(column("USER_NAME")),
        jobs,
        map(_qualified, libraries, programs),
        _stripped_column(column("REMOTE_ADDRESS")),
        map(_whole, column("REMOTE_PORT")),
        map(dict, map(zip, repeat(own_names), own_values)),
        strict=True,
    )
    return list(map(tuple.__new__, repeat(JournalEntry), rows))


def _timestamps(values: Sequence[Any]) -> list[str]:
    """Already in the form kept ("YYYY-MM-DD HH:MM:SS.ffffff", as the demo and some drivers give them) or converted."""
    return [
        value
        if type(value) is str and len(value) == 26 and value[10] == " " and value[19] == "."
        else timestamp_text(value)
        for value in values
    ]


def _stripped_column(values: Sequence[Any]) -> list[Any]:
    """Text stripped (blank becomes None); other values as they are."""
    return [(value.strip() or None) if type(value) is str else value for value in values]


def _jobs(qualified: Sequence[Any], names: Sequence[Any], users: Sequence[Any], numbers: Sequence[Any]) -> list[Any]:
    return [
        q if q else (f"{number}/{user}/{name}" if name and user and number else name)
        for q, name, user, number in zip(qualified, names, users, numbers, strict=True)
    ]


def _stripped(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _whole(value: Any) -> int | None:
    if type(value) is int:
        return value
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _qualified(library: Any, name: Any) -> str | None:
    name_text = _stripped(name)
    if name_text is None:
        return None
    library_text = _stripped(library)
    return f"{library_text}/{name_text}" if library_text else name_text


def read_entries(conn: Queryable, entry_type: str, since: str, limit: int) -> list[JournalEntry]:
    """Up to `limit` entries of `entry_type` from the timestamp `since` on (inclusive), in journal order."""
    return conn.query_rows(entries_statement(entry_type, limit), (since,), lambda table: _entries(entry_type, table))


def read_system_time(conn: Queryable) -> str:
    """The system's clock (CURRENT TIMESTAMP, local time), as the journal's timestamps are written."""
    return timestamp_text(conn.query(SYSTEM_TIME)[0]["NOW"])


@dataclass(frozen=True)
class ReceiverCheck:
    attached: str | None  # LIBRARY/NAME of the receiver attached now; None when none is
    previous_gone: bool  # the receiver attached at the last read no longer exists


def check_receiver(conn: Queryable, previous: str | None) -> ReceiverCheck:
    """The receiver attached to QAUDJRN now, and whether `previous` (LIBRARY/NAME, the one attached at the last
    read) is gone: entries after the last position may then be gone too."""
    rows = conn.query(ATTACHED_RECEIVER)
    attached = None
    if rows:
        attached = _qualified(rows[0]["ATTACHED_JOURNAL_RECEIVER_LIBRARY"], rows[0]["ATTACHED_JOURNAL_RECEIVER_NAME"])
    if previous is None or previous == attached or "/" not in previous:
        return ReceiverCheck(attached, False)
    library, name = previous.split("/", 1)
    found = conn.query(RECEIVER_EXISTS, (library, name))
    return ReceiverCheck(attached, not (found and int(found[0]["FOUND"] or 0) > 0))
