"""The ODBC driver: pyodbc with the IBM i Access ODBC Driver (or any ODBC data source).

pyodbc is imported on first connect, so a machine without unixODBC still runs the demo system.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from bot.ibmi.access import ConnectionSettings, ErrorKind
from bot.ibmi.errors import DriverMissingError

DRIVER_HELP = (
    "install unixODBC (Debian/Ubuntu: apt install unixodbc; RHEL: dnf install unixODBC) and the "
    "IBM i Access ODBC Driver (package ibm-iaccess from IBM's repository); on IBM i PASE: "
    "yum install ibm-iaccess python3.13-pyodbc"
)

# Generic ODBC text for a lost connection, and the IBM i Access client's messages for one.
_CONNECTION_HINTS = ("communication link failure", "cwbco1047", "cwbco1054", "connection reset")
_AUTHORITY_HINTS = ("sql0551", "not authorized")


def load_pyodbc() -> ModuleType:
    try:
        import pyodbc  # type: ignore[import-not-found,unused-ignore]  # PEP 561: mypy skips its single-file stub
    except ImportError as error:  # also raised when libodbc.so.2 (unixODBC) is missing
        raise DriverMissingError(f"pyodbc cannot be loaded ({error}); {DRIVER_HELP}") from error
    return pyodbc


def connect(settings: ConnectionSettings) -> Any:
    pyodbc = load_pyodbc()
    connection = pyodbc.connect(
        connection_string(settings),
        autocommit=True,
        timeout=max(1, round(settings.login_timeout)),
    )
    connection.timeout = max(1, round(settings.query_timeout))
    return connection


def connection_string(settings: ConnectionSettings) -> str:
    """The configured string plus UID/PWD when the settings carry them."""
    parts = [settings.connection_string.rstrip(";")]
    if settings.user:
        parts.append(f"UID={_odbc_value(settings.user)}")
    if settings.password:
        parts.append(f"PWD={_odbc_value(settings.password)}")
    return ";".join(parts) + ";"


def _odbc_value(value: str) -> str:
    if any(c in value for c in ";{}="):
        return "{" + value.replace("}", "}}") + "}"
    return value


_MISSING_HINTS = ("sql0204", "sql0206")


def classify_error(error: BaseException) -> ErrorKind:
    """'connection', 'timeout', 'authority', 'missing' or 'other', from the SQLSTATE and the driver's message."""
    args: tuple[Any, ...] = getattr(error, "args", ())
    sqlstate = args[0] if len(args) > 1 and isinstance(args[0], str) else ""
    message = " ".join(str(a) for a in args).lower()
    if sqlstate.startswith("08") or any(hint in message for hint in _CONNECTION_HINTS):
        return "connection"
    # SQL0666 (SQLSTATE 57005): Db2 for i refuses a query whose *estimated* time exceeds the query timeout.
    if sqlstate in ("HYT00", "HYT01", "57005") or "timeout expired" in message or "sql0666" in message:
        return "timeout"
    if sqlstate == "42501" or any(hint in message for hint in _AUTHORITY_HINTS):
        return "authority"
    # SQL0204 (42704) an object, SQL0206 (42703) a column not found: a service this release does not have.
    if sqlstate in ("42704", "42703") or any(hint in message for hint in _MISSING_HINTS):
        return "missing"
    return "other"
