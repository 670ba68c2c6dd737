"""The demo's errors, shaped like the IBM i Access ODBC driver's so the product handles both alike."""

from __future__ import annotations

import re
import sqlite3


class DemoError(Exception):
    """A DB-API error shaped like the ODBC driver's: args = (SQLSTATE, message)."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(sqlstate, message)
        self.sqlstate = sqlstate


class CommandFailed(Exception):
    """A CL command that parsed but cannot be applied, with the message IBM i would send."""

    def __init__(self, message_id: str, text: str):
        super().__init__(message_id, text)
        self.message_id = message_id
        self.text = text


def sql0443(message_id: str, text: str) -> str:
    """The driver's text for a CL command that failed under QCMDEXC, carrying the CL message id."""
    return (
        "[IBM][System i Access ODBC Driver][DB2 for i5/OS]SQL0443 - Trigger program or external routine "
        f"detected an error. The external name is QCMDEXC in schema QSYS. The associated text is {message_id}. "
        f"{text}"
    )


# The statement failures `fail_statements` can choose: SQLSTATE and message text as IBM's "Listing of SQL
# messages" (Db2 for i SQL messages and codes) gives them; the driver's exact wording around them is the demo's.
STATEMENT_FAILURES: dict[str, tuple[str, str]] = {
    "SQL0901": ("58004", "[SQL0901] SQL system error."),
    "SQL0666": ("57005", "[SQL0666] SQL query exceeds specified time limit or storage limit."),
    "SQL0551": ("42501", "[SQL0551] Not authorized to object QSYS2 in QSYS type *LIB."),
}


def statement_failure(message_id: str) -> DemoError:
    """The error every statement fails with under `fail_statements = message_id`."""
    sqlstate, text = STATEMENT_FAILURES[message_id]
    return DemoError(sqlstate, text)


_NO_SUCH_COLUMN = re.compile(r"no such column: (\S+)")
_NO_SUCH_TABLE = re.compile(r"no such table: (\S+)")


def as_db2_error(error: sqlite3.Error) -> DemoError:
    """A SQLite error told as Db2 for i tells it (SQL0206, SQL0204, SQL0104)."""
    message = str(error)
    if match := _NO_SUCH_COLUMN.search(message):
        return DemoError("42703", f"[SQL0206] Column or global variable {match[1]} not found.")
    if match := _NO_SUCH_TABLE.search(message):
        return DemoError("42704", f"[SQL0204] {match[1]} in *LIBL type *FILE not found.")
    if "syntax error" in message:
        return DemoError("42601", f"[SQL0104] Token was not valid. {message}")
    return DemoError("HY000", message)
