"""The one way in to an IBM i: the driver interface, the settings a connection needs, and the system connection.

A driver (`bot.ibmi.drivers`) opens a DB-API connection from a `ConnectionSettings` and says what kind of
failure a driver error is. `SystemConnection` builds the bot's connection to one system on it: one caller at a
time, reads reconnect once after a dropped connection, a CL command is never re-sent (its first attempt may
have run), and driver errors become the exceptions of `bot.ibmi.errors`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from bot.ibmi import sql
from bot.ibmi.cl import ClCommand
from bot.ibmi.errors import (
    CLCommandError,
    ConnectionFailedError,
    IbmiError,
    NotAuthorizedError,
    QueryTimeoutError,
)

log = logging.getLogger(__name__)

ErrorKind = Literal["connection", "timeout", "authority", "other"]

# IBM i message ids: three letters and four hexadecimal digits, at least one a decimal digit
# (CPF2105, CPD0030, CPFA0D4), so words such as PROCEED are not taken for one.
_MESSAGE_ID = re.compile(r"\b(?!SQL)([A-Z]{3}(?=[0-9A-F]{0,3}[0-9])[0-9A-F]{4})\b")


@dataclass(frozen=True)
class DemoOptions:
    """How the embedded demo IBM i behaves."""

    path: Path  # folder holding one SQLite file per library
    latency: float = 0.0  # seconds added to every statement
    traffic_interval: float | None = None  # seconds between arriving and leaving connections; None: no traffic
    seed: int = 1
    missing_authorities: tuple[str, ...] = ()  # special authorities the bot's demo profile lacks


@dataclass(frozen=True)
class ConnectionSettings:
    """What one connection to one IBM i needs; credentials are resolved by whoever builds it."""

    name: str  # the system's name, used in every error message
    driver: str  # a key of bot.ibmi.drivers.DRIVERS: "demo", "odbc" or "mapepire"
    connection_string: str = ""  # ODBC: the configured string or DSN, without UID/PWD; Mapepire: mapepire://HOST[:PORT]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    login_timeout: float = 10.0  # seconds
    query_timeout: float = 30.0  # seconds
    demo: DemoOptions | None = None  # the demo driver's own settings
    ca_file: Path | None = None  # Mapepire: the PEM file to verify the server's certificate with


class Driver(Protocol):
    """One way in to IBM i: a module or object that opens DB-API connections and classifies their errors."""

    def connect(self, settings: ConnectionSettings) -> Any:
        """A DB-API 2.0 connection in autocommit mode, honouring the settings' timeouts."""
        ...

    def classify_error(self, error: BaseException) -> ErrorKind:
        """What kind of failure an error raised by the connection is."""
        ...


def _message(error: BaseException) -> str:
    """The driver's text of an error: DB-API drivers put it last in args, after the SQLSTATE."""
    args = getattr(error, "args", ())
    return str(args[-1]) if args else str(error)


class SystemConnection:
    """The bot's connection to one IBM i. Thread-safe: calls are serialised by a lock."""

    def __init__(self, settings: ConnectionSettings, driver: Driver):
        self.settings = settings
        self._driver = driver
        self._lock = threading.RLock()
        self._dbapi: Any = None

    @property
    def name(self) -> str:
        return self.settings.name

    def _ensure_connected(self) -> Any:
        if self._dbapi is None:
            try:
                self._dbapi = self._driver.connect(self.settings)
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
        kind = self._driver.classify_error(error)
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
                    if self._driver.classify_error(error) == "connection":
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
                kind = self._driver.classify_error(error)
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
