"""The one way in to an IBM i: the driver interface, the settings a connection needs, and the system connection.

A driver (`bot.ibmi.drivers`) opens a DB-API connection from a `ConnectionSettings` and says what kind of
failure a driver error is. `SystemConnection` builds the bot's connection to one system on it: one caller at a
time, every call bounded by a wall-clock deadline (`bot.ibmi.deadline`), reads reconnect once after a
dropped connection, a CL command is never re-sent (its first attempt may have run), and driver errors become
the exceptions of `bot.ibmi.errors`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from bot.ibmi import sql
from bot.ibmi.cl import ClCommand
from bot.ibmi.deadline import Call, DeadlinePassed, Waiter, call_within, wait_for
from bot.ibmi.errors import (
    AbandonedAtStopError,
    CLCommandError,
    ConnectionFailedError,
    DeadlineExceededError,
    IbmiError,
    NotAuthorizedError,
    QueryTimeoutError,
    ServiceMissingError,
)
from bot.ibmi.reuse import BlockConverter, Conversion, RememberedReads
from bot.ibmi.rows import JobLogMessage
from bot.ibmi.table import Table

log = logging.getLogger(__name__)

T = TypeVar("T")

# Rows asked of the driver at a time: each block is converted before the next is fetched, so the driver's rows
# of a 100,000-row result never all exist at once.
FETCH_ROWS = 5_000
DEADLINE_MARGIN = 5.0  # seconds a call may run past the driver's query timeout before the bot abandons it

ErrorKind = Literal["connection", "timeout", "authority", "missing", "other"]

# IBM i message ids: three letters and four hexadecimal digits, at least one a decimal digit
# (CPF2105, CPD0030, CPFA0D4), so words such as PROCEED are not taken for one.
_MESSAGE_ID = re.compile(r"\b(?!SQL)([A-Z]{3}(?=[0-9A-F]{0,3}[0-9])[0-9A-F]{4})\b")


@dataclass(frozen=True)
class DemoOptions:
    """How the embedded demo IBM i behaves."""

    path: Path  # folder holding one SQLite file per library
    latency: float = 0.0  # seconds added to every statement
    hang: bool = False  # every statement blocks until its connection is closed, as a hung driver does
    traffic_interval: float | None = None  # seconds between arriving and leaving connections; None: no traffic
    seed: int = 1
    missing_authorities: tuple[str, ...] = ()  # special authorities the bot's demo profile lacks
    release: str = "7.5"  # the IBM i release the demo reports, one of demo.seed.RELEASES
    fail_statements: str | None = None  # an SQL message id every statement fails with (demo.errors.STATEMENT_FAILURES)


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
    statement_deadline: float | None = None  # seconds of wall-clock time per statement; None: query_timeout + margin
    command_deadline: float | None = None  # the same for a CL command
    demo: DemoOptions | None = None  # the demo driver's own settings
    ca_file: Path | None = None  # Mapepire: the PEM file to verify the server's certificate with

    @property
    def statement_limit(self) -> float:
        return self.statement_deadline if self.statement_deadline is not None else self.query_timeout + DEADLINE_MARGIN

    @property
    def command_limit(self) -> float:
        return self.command_deadline if self.command_deadline is not None else self.query_timeout + DEADLINE_MARGIN


class Driver(Protocol):
    """One way in to IBM i: a module or object that opens DB-API connections and classifies their errors."""

    def connect(self, settings: ConnectionSettings) -> Any:
        """A DB-API 2.0 connection in autocommit mode, honouring the settings' timeouts."""
        ...

    def classify_error(self, error: BaseException) -> ErrorKind:
        """What kind of failure an error raised by the connection is."""
        ...


def short_statement(statement: str, limit: int = 80) -> str:
    """A statement on one line, cut to `limit` characters: enough to say which one it was."""
    text = " ".join(statement.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message(error: BaseException) -> str:
    """The driver's text of an error: DB-API drivers put it last in args, after the SQLSTATE."""
    args = getattr(error, "args", ())
    return str(args[-1]) if args else str(error)


class SystemConnection:
    """The bot's connection to one IBM i. Thread-safe: calls are serialised by a lock."""

    def __init__(self, settings: ConnectionSettings, driver: Driver, wait: Waiter = wait_for):
        self.settings = settings
        self._driver = driver
        self._wait = wait  # how a call's deadline is waited for; tests expire it without waiting
        self._lock = threading.RLock()
        self._dbapi: Any = None
        self._calls = threading.Lock()  # guards the two below, never held while waiting for IBM i
        self._current: Call[Any] | None = None
        self._abandoned = False
        self._remembered = RememberedReads()  # the last conversions of the reads marked `reuse`

    @property
    def name(self) -> str:
        return self.settings.name

    def _open(self) -> Any:
        try:
            return self._driver.connect(self.settings)
        except IbmiError:
            raise
        except Exception as error:
            raise ConnectionFailedError(f"{self.name}: connecting failed: {_message(error)}") from error

    def _within(self, body: Callable[[Any], T], deadline: float, what: str, unknown: bool = False) -> T:
        """`body` on the connection (opened first when there is none), within `deadline` seconds (plus the
        login timeout when it has to connect). On expiry the connection is abandoned and DeadlineExceededError
        names `what` (and says whether it ran is unknown, for a command); otherwise the body's result, or what
        it raised."""
        limit = deadline + (self.settings.login_timeout if self._dbapi is None else 0.0)
        try:
            call = call_within(limit, self._dbapi, self._open, body, self.name, self._wait, self._started)
        except DeadlinePassed:
            self._dbapi = None
            if self._abandoned:
                outcome = "; whether it ran is unknown — verify on the system" if unknown else ""
                raise AbandonedAtStopError(f"{self.name}: {what} abandoned: the bot is stopping{outcome}") from None
            log.warning("%s: %s did not answer within %gs; the connection is abandoned", self.name, what, limit)
            outcome = "; whether it ran is unknown — verify on the system" if unknown else ""
            raise DeadlineExceededError(
                f"{self.name}: {what} did not answer within {limit:g}s{outcome}", deadline
            ) from None
        self._dbapi = call.connection
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def _started(self, call: Call[Any]) -> None:
        with self._calls:
            self._current = call
            if self._abandoned:
                call.cancel()

    def abandon(self) -> None:
        """The bot is stopping: the call in flight gives up now (an executing command ends "unknown") and no
        new call waits for IBM i. Does not wait for the connection's lock."""
        with self._calls:
            self._abandoned = True
            if self._current is not None:
                self._current.cancel()

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
            return QueryTimeoutError(f"{self.name}: {doing} stopped by the query timeout: {_message(error)}")
        if kind == "authority":
            return NotAuthorizedError(text)
        if kind == "missing":
            return ServiceMissingError(text)
        return IbmiError(text)

    def exclusive(self) -> threading.RLock:
        """Hold this to run several statements with no other caller's statement in between
        (an alias in QTEMP and the SELECT through it, say)."""
        return self._lock

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run one statement and return its rows as dicts keyed by upper-case column name."""
        return self.query_rows(statement, params, Table.dicts)

    def query_rows(
        self, statement: str, params: Sequence[Any], convert: Callable[[Table], list[T]], reuse: bool = False
    ) -> list[T]:
        """Run one statement and return its rows, fetched FETCH_ROWS at a time and each block converted by
        `convert` as it arrives (so the driver's own rows never pile up), with upper-case column names. `reuse`:
        remember this read's blocks, and give the conversion of a block equal to the last read's again
        (bot/ibmi/reuse.py); for the large reads of a cycle, with a `convert` that depends on the rows alone."""
        shown = short_statement(statement)
        key = (statement, tuple(params), convert)
        last: Conversion | None = None

        def rows_of(connection: Any) -> tuple[list[T], Conversion | None]:
            cursor = connection.cursor()
            try:
                cursor.execute(statement, tuple(params))
                if cursor.description is None:
                    return [], None
                converter = BlockConverter(tuple(column[0].upper() for column in cursor.description), convert, last)
                rows: list[T] = []
                while block := cursor.fetchmany(FETCH_ROWS):
                    rows += converter.convert(block)
                return rows, converter.conversion()
            finally:
                cursor.close()

        with self._lock:
            last = self._remembered.last(key) if reuse else None
            for attempt in (1, 2):
                try:
                    rows, conversion = self._within(rows_of, self.settings.statement_limit, repr(shown))
                except IbmiError:
                    raise
                except Exception as error:
                    if self._driver.classify_error(error) == "connection":
                        self._discard()
                        if attempt == 1:
                            log.info("%s: connection dropped, reconnecting once", self.name)
                            continue
                    raise self._translate(error, f"{shown!r}") from error
                if reuse and conversion is not None:
                    self._remembered.keep(key, conversion)
                return rows
        raise AssertionError("unreachable")

    def run_cl(self, command: ClCommand) -> None:
        """Run a validated CL command through CALL QSYS2.QCMDEXC(?), with the command as a parameter."""
        text = command.to_cl()
        with self._lock:
            position = self._job_log_position()
            try:
                self._within(
                    lambda connection: _execute(connection, sql.RUN_CL_COMMAND, (text,)),
                    self.settings.command_limit,
                    repr(text),
                    unknown=True,
                )
            except IbmiError:
                raise
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
                raise cl_error(text, _message(error), self._job_log(position)) from error

    def _job_log_position(self) -> int:
        """The newest position in the job log before a command runs; 0 (the whole log) when it cannot be read."""
        try:
            rows = self._within(
                lambda connection: _rows(connection, sql.JOB_LOG_POSITION, ()),
                self.settings.statement_limit,
                "reading the job log position",
            )
        except Exception:
            log.info("%s: the job log position could not be read before a command", self.name, exc_info=True)
            return 0
        value = rows[0].get("ORDINAL_POSITION") if rows else None
        return int(value) if value is not None else 0

    def _job_log(self, after: int) -> tuple[JobLogMessage, ...]:
        """The job log messages a failed command left (after the position read before it), read on its own
        connection (the job log is the server job's) within the statement deadline; none when they cannot be
        read, since the command's failure is what must be reported."""
        try:
            rows = self._within(
                lambda connection: _rows(connection, sql.JOB_LOG_MESSAGES, (after,)),
                self.settings.statement_limit,
                "reading the job log",
            )
        except Exception:
            log.info("%s: the job log of a failed command could not be read", self.name, exc_info=True)
            return ()
        return sql.job_log_messages(rows)

    def close(self) -> None:
        with self._lock:
            self._discard()


def _rows(connection: Any, statement: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    cursor = connection.cursor()
    try:
        cursor.execute(statement, params)
        columns = [column[0].upper() for column in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _execute(connection: Any, statement: str, params: tuple[Any, ...]) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute(statement, params)
    finally:
        cursor.close()


def cl_error(command: str, driver_message: str, job_log: tuple[JobLogMessage, ...] = ()) -> CLCommandError:
    """The message id of a failed QCMDEXC, taken after "associated text is" when the driver says so (the
    SQL0443 form commonly seen; IBM does not document it), else the first id-shaped word in the text
    (also in the driver's "[CPF9899] text" shape, whose bracket is not kept)."""
    associated = driver_message.split("associated text is", 1)
    found = _MESSAGE_ID.findall(associated[-1])
    message_id = found[0] if found else None
    text = driver_message.strip()
    if message_id:
        after = text.split(message_id, 1)[1].lstrip(" .:-]")
        text = after or text
    return CLCommandError(command, message_id, text, job_log)
