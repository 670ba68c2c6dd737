"""Errors raised when talking to an IBM i. They carry no Slack or storage knowledge."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from bot.ibmi.rows import JobLogMessage

T = TypeVar("T")


class IbmiError(Exception):
    """Base class for every failure of the IBM i access layer."""


class DriverMissingError(IbmiError):
    """pyodbc or unixODBC (or the IBM i Access ODBC Driver) is not installed on this machine."""


class ConnectionFailedError(IbmiError):
    """The system could not be reached, the sign-on failed, or the connection dropped."""


class QueryTimeoutError(IbmiError):
    """A statement did not finish in time: refused or stopped by the driver's query timeout (SQL0666 is the
    optimizer's estimate exceeding it), or abandoned at the bot's deadline (DeadlineExceededError)."""


class DeadlineExceededError(QueryTimeoutError):
    """A call did not answer within the bot's wall-clock deadline; its connection was abandoned. The system is
    hung: further calls would most likely wait as long again. `deadline` is the call's own limit in seconds
    (the statement or command deadline, without the login timeout a first connect adds)."""

    def __init__(self, message: str, deadline: float | None = None):
        super().__init__(message)
        self.deadline = deadline


class AbandonedAtStopError(DeadlineExceededError):
    """The bot is stopping and gave the call up; it says nothing about the system (and a command's outcome is
    unknown, as at a deadline)."""


class NotAuthorizedError(IbmiError):
    """The bot's profile may not read a service (for example NETSTAT on IBM i 7.6 without *IOSYSCFG)."""


class ServiceMissingError(IbmiError):
    """The system has no such service or column (SQL0204/SQLSTATE 42704, SQL0206/42703): its release or PTF
    level is older than the service needs."""


class CLCommandError(IbmiError):
    """A CL command run through QSYS2.QCMDEXC failed; message_id is the CPF (or CPD, TCP...) id when known.

    job_log holds the messages the command left in the job log, oldest first: the reason itself when the
    driver reports only CPF0006 "Errors occurred in command" (a diagnostic such as CPD0032 comes before it).
    """

    def __init__(self, command: str, message_id: str | None, text: str, job_log: tuple[JobLogMessage, ...] = ()):
        self.command = command
        self.message_id = message_id
        self.text = text
        self.job_log = job_log
        prefix = f"{message_id}: " if message_id else ""
        super().__init__(f"{prefix}{text}")


def attempted(read: Callable[[], T]) -> tuple[T | None, IbmiError | None]:
    """What `read()` returns, or the IBM i error that stopped it (the other one None)."""
    try:
        return read(), None
    except IbmiError as error:
        return None, error
