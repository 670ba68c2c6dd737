"""Whether the database takes writes: what went wrong, the fix, and one ERROR per outage.

SQLite reports trouble from outside the bot (a full disk, another process holding the write lock, a
read-only file, a failing disk) as error codes. `diagnose` turns one into a `StorageProblem` that says
what is wrong and how to fix it; `StorageHealth` remembers the current outage, logs its start once at
ERROR and its end once at INFO, and tells its subscribers (the bot says it in Slack and `/ibmi status`).

An outage ends at a successful write made `RECOVERY_QUIET` seconds or more after the last failure, so
a half-full disk that lets some writes through does not flap between "failing" and "recovered".
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

RECOVERY_QUIET = 60.0  # seconds without a failure before a successful write ends an outage

# SQLite's primary result codes (https://www.sqlite.org/rescode.html)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 26


@dataclass(frozen=True)
class StorageProblem:
    """What is wrong with the database, in words fit for Slack (no file paths), and how to fix it."""

    reason: str  # e.g. "the disk holding it is full"
    fix: str  # e.g. "free space on that disk"
    code: str  # SQLite's name for the error, e.g. "SQLITE_FULL"
    since: float  # seconds since the epoch: the first failure of the outage

    def text(self) -> str:
        return f"{self.reason} — {self.fix}"


_DIAGNOSES: dict[int, tuple[str, str]] = {
    _BUSY: (
        "it is locked by another process",
        "find the process holding a write transaction on the database (another ibmi-warden on the same "
        "storage.path, or a sqlite3 shell left in a transaction) and end it",
    ),
    _LOCKED: (
        "it is locked by another connection",
        "find the process holding a write transaction on the database and end it",
    ),
    _FULL: (
        "the disk holding it is full (or the database reached its size limit)",
        "free space on the file system holding storage.path, or move storage.path to a larger one",
    ),
    _READONLY: (
        "the database file is read-only",
        "give the bot's user write permission on storage.path, its -wal and -shm files and its folder, "
        "and check the file system is mounted read-write",
    ),
    _PERM: (
        "the bot's user may not write it",
        "give the bot's user write permission on storage.path and its folder",
    ),
    _IOERR: (
        "the disk reported an I/O error",
        "check the disk and file system holding storage.path (the kernel log says more); restore a backup "
        "if the disk is failing",
    ),
    _CANTOPEN: (
        "the database file cannot be opened",
        "check that storage.path and its folder exist and the bot's user may write them",
    ),
    _CORRUPT: ("the database file is damaged", "stop the bot and restore the database from a backup"),
    _NOTADB: ("the database file is damaged", "stop the bot and restore the database from a backup"),
}


def diagnose(error: BaseException, now: float | None = None) -> StorageProblem | None:
    """The problem behind an SQLite error from outside the bot; None for anything else (a constraint,
    a mistake in SQL), which is the bot's own business."""
    if not isinstance(error, sqlite3.DatabaseError) or isinstance(error, sqlite3.IntegrityError):
        return None
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return None
    known = _DIAGNOSES.get(code & 0xFF)
    if known is None:
        return None
    reason, fix = known
    name = getattr(error, "sqlite_errorname", None) or f"SQLite error {code}"
    return StorageProblem(reason, fix, name, time.time() if now is None else now)


Listener = Callable[["StorageProblem | None", "StorageProblem | None"], None]


class StorageHealth:
    """The current outage of one database, if any. `failed` and `succeeded` are called for every failed and
    every committed write; subscribers hear `(problem, None)` when an outage starts and `(None, ended)` when
    it ends. They are called on the writing thread, so they must return at once."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.outages = 0  # how many outages have started: a caller can say something once per outage
        self._problem: StorageProblem | None = None
        self._last_failure = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def current_problem(self) -> StorageProblem | None:
        """The problem of the current outage; None while writes succeed."""
        return self._problem

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def failed(self, error: BaseException) -> StorageProblem | None:
        """Note a failed read or write; returns its problem (None when `error` is not storage trouble)."""
        now = self.clock()
        problem = diagnose(error, now)
        if problem is None:
            return None
        with self._lock:
            self._last_failure = now
            if self._problem is not None:
                return self._problem
            self._problem = problem
            self.outages += 1
        log.error(
            "The bot's database %s cannot be written: %s (%s: %s). Nothing is being recorded until it can: "
            "check runs, alerts, Slack messages, silences and change requests wait, and commands that change "
            "something are refused. Fix: %s.",
            self.path,
            problem.reason,
            problem.code,
            error,
            problem.fix,
        )
        self._tell(problem, None)
        return problem

    def succeeded(self) -> None:
        """Note a committed write; ends the outage once no failure came for RECOVERY_QUIET seconds."""
        if self._problem is None:
            return
        now = self.clock()
        with self._lock:
            ended = self._problem
            if ended is None or now - self._last_failure < RECOVERY_QUIET:
                return
            self._problem = None
        log.info("The bot's database %s takes writes again (it could not for %.0f s).", self.path, now - ended.since)
        self._tell(None, ended)

    def _tell(self, problem: StorageProblem | None, ended: StorageProblem | None) -> None:
        for listener in self._listeners:
            try:
                listener(problem, ended)
            except Exception:
                log.warning("a listener of the database's health failed", exc_info=True)
