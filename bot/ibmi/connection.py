"""DB-API connections to one IBM i each: the embedded demo system or pyodbc with the IBM i Access ODBC Driver.

One connection per system, used by one caller at a time. Reads reconnect once after a dropped
connection; a CL command is never re-sent, because its first attempt may have run.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from bot.config import SystemSettings, system_credentials
from bot.ibmi import sql
from bot.ibmi.cl import ClCommand
from bot.ibmi.errors import (
    CLCommandError,
    ConnectionFailedError,
    DriverMissingError,
    IbmiError,
    NotAuthorizedError,
    QueryTimeoutError,
)

log = logging.getLogger(__name__)

DRIVER_HELP = (
    "install unixODBC (Debian/Ubuntu: apt install unixodbc; RHEL: dnf install unixODBC) and the "
    "IBM i Access ODBC Driver (package ibm-iaccess from IBM's repository); on IBM i PASE: "
    "yum install ibm-iaccess python3.13-pyodbc"
)

# IBM i message ids: three letters and four hexadecimal digits, at least one a decimal digit
# (CPF2105, CPD0030, CPFA0D4), so words such as PROCEED are not taken for one.
_MESSAGE_ID = re.compile(r"\b(?!SQL)([A-Z]{3}(?=[0-9A-F]{0,3}[0-9])[0-9A-F]{4})\b")
# Generic ODBC text for a lost connection, and the IBM i Access client's messages for one.
_CONNECTION_HINTS = ("communication link failure", "cwbco1047", "cwbco1054", "connection reset")
_AUTHORITY_HINTS = ("sql0551", "not authorized")


def load_pyodbc() -> ModuleType:
    try:
        import pyodbc
    except ImportError as error:  # also raised when libodbc.so.2 (unixODBC) is missing
        raise DriverMissingError(f"pyodbc cannot be loaded ({error}); {DRIVER_HELP}") from error
    return pyodbc


def odbc_connection_string(settings: SystemSettings, env: Mapping[str, str] = os.environ) -> str:
    """The configured string plus UID/PWD from the environment variables the system names."""
    user, password = system_credentials(settings, env)
    parts = [settings.connection.rstrip(";")]
    if user:
        parts.append(f"UID={_odbc_value(user)}")
    if password:
        parts.append(f"PWD={_odbc_value(password)}")
    return ";".join(parts) + ";"


def _odbc_value(value: str) -> str:
    if any(c in value for c in ";{}="):
        return "{" + value.replace("}", "}}") + "}"
    return value


def classify_error(error: BaseException) -> str:
    """'connection', 'timeout', 'authority' or 'other', from the SQLSTATE and the driver's message."""
    args = getattr(error, "args", ())
    sqlstate = args[0] if len(args) > 1 and isinstance(args[0], str) else ""
    message = " ".join(str(a) for a in args).lower()
    if sqlstate.startswith("08") or any(hint in message for hint in _CONNECTION_HINTS):
        return "connection"
    if sqlstate in ("HYT00", "HYT01") or "timeout expired" in message:
        return "timeout"
    if sqlstate == "42501" or any(hint in message for hint in _AUTHORITY_HINTS):
        return "authority"
    return "other"


def _message(error: BaseException) -> str:
    args = getattr(error, "args", ())
    return str(args[-1]) if args else str(error)


class SystemConnection:
    """The bot's connection to one IBM i. Thread-safe: calls are serialised by a lock."""

    def __init__(
        self,
        settings: SystemSettings,
        env: Mapping[str, str] = os.environ,
        connect: Callable[[], Any] | None = None,
    ):
        self.settings = settings
        self._env = env
        self._connect = connect or self._default_connect
        self._lock = threading.RLock()
        self._dbapi: Any = None

    @property
    def name(self) -> str:
        return self.settings.name

    def _default_connect(self) -> Any:
        if self.settings.is_demo:
            from bot.ibmi.demo import connect_demo

            return connect_demo(self.settings)
        pyodbc = load_pyodbc()
        connection = pyodbc.connect(
            odbc_connection_string(self.settings, self._env),
            autocommit=True,
            timeout=max(1, round(self.settings.login_timeout)),
        )
        connection.timeout = max(1, round(self.settings.query_timeout))
        return connection

    def _ensure_connected(self) -> Any:
        if self._dbapi is None:
            try:
                self._dbapi = self._connect()
            except IbmiError:
                raise
            except Exception as error:
                raise ConnectionFailedError(f"{self.name}: connecting failed: {_message(error)}") from error
        return self._dbapi

    def _discard(self) -> None:
        dbapi, self._dbapi = self._dbapi, None
        if dbapi is not None:
            try:
                dbapi.close()
            except Exception:  # a dropped connection often fails to close; nothing to do about it
                log.debug("closing a dropped connection to %s failed", self.name, exc_info=True)

    def _translate(self, error: BaseException, doing: str) -> IbmiError:
        kind = classify_error(error)
        text = f"{self.name}: {doing} failed: {_message(error)}"
        if kind == "connection":
            return ConnectionFailedError(text)
        if kind == "timeout":
            return QueryTimeoutError(f"{self.name}: {doing} took longer than {self.settings.query_timeout:g}s")
        if kind == "authority":
            return NotAuthorizedError(text)
        return IbmiError(text)

    def exclusive(self) -> threading.RLock:
        """Hold this to run several statements with no other caller's statement in between
        (an alias in QTEMP and the SELECT through it, say)."""
        return self._lock

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run one statement and return its rows as dicts keyed by upper-case column name."""
        with self._lock:
            for attempt in (1, 2):
                connection = self._ensure_connected()
                try:
                    cursor = connection.cursor()
                    try:
                        cursor.execute(statement, tuple(params))
                        if cursor.description is None:
                            return []
                        columns = [column[0].upper() for column in cursor.description]
                        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
                    finally:
                        cursor.close()
                except Exception as error:
                    if classify_error(error) == "connection":
                        self._discard()
                        if attempt == 1:
                            log.info("%s: connection dropped, reconnecting once", self.name)
                            continue
                    raise self._translate(error, "query") from error
        raise AssertionError("unreachable")

    def run_cl(self, command: ClCommand) -> None:
        """Run a validated CL command through CALL QSYS2.QCMDEXC(?), with the command as a parameter."""
        text = command.to_cl()
        with self._lock:
            connection = self._ensure_connected()
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(sql.RUN_CL_COMMAND, (text,))
                finally:
                    cursor.close()
            except Exception as error:
                kind = classify_error(error)
                if kind == "connection":
                    self._discard()
                    raise ConnectionFailedError(
                        f"{self.name}: the connection dropped while running {text!r}; "
                        "whether the command ran is unknown — verify on the system"
                    ) from error
                if kind == "timeout":
                    raise QueryTimeoutError(
                        f"{self.name}: {text!r} did not answer within {self.settings.query_timeout:g}s; "
                        "whether it ran is unknown — verify on the system"
                    ) from error
                raise cl_error(text, _message(error)) from error

    def close(self) -> None:
        with self._lock:
            self._discard()


def cl_error(command: str, driver_message: str) -> CLCommandError:
    """The message id of a failed QCMDEXC, taken after "associated text is" when the driver says so (the
    SQL0443 form commonly seen; IBM does not document it), else the first id-shaped word in the text."""
    associated = driver_message.split("associated text is", 1)
    found = _MESSAGE_ID.findall(associated[-1])
    message_id = found[0] if found else None
    text = driver_message.strip()
    if message_id:
        after = text.split(message_id, 1)[1].lstrip(" .:-")
        text = after or text
    return CLCommandError(command, message_id, text)
