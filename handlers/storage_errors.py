"""What a person is told when the bot's database refuses the work they asked for: the one error path of the
command, button and form handlers for `StorageFailure` (and any other `sqlite3.OperationalError`).

The failed transaction was rolled back, so nothing was changed; the bot's log says the same once per
outage at ERROR, with the file's path."""

from __future__ import annotations

import logging
import sqlite3

from storage.database import StorageFailure
from storage.health import StorageProblem

log = logging.getLogger(__name__)

STORAGE_ERRORS = (sqlite3.OperationalError,)  # StorageFailure is one


def log_storage_failure(error: sqlite3.OperationalError, what: str) -> None:
    """At WARNING for a StorageFailure (the outage itself was logged once at ERROR); anything else at ERROR."""
    if isinstance(error, StorageFailure):
        log.warning("%s refused: %s", what, error)
    else:
        log.error("%s failed in the bot's database", what, exc_info=error)


def storage_failure_text(error: sqlite3.OperationalError, what: str) -> str:
    """The answer to `what` (e.g. "/ibmi silence") when the database refused it; logged too."""
    log_storage_failure(error, what)
    if isinstance(error, StorageFailure):
        return not_writable_text(error.problem)
    return ":x: The bot's database failed — nothing was changed; the bot's log has the details."


def not_writable_text(problem: StorageProblem) -> str:
    return f":x: The bot's database is not writable: {problem.reason} — nothing was changed. To fix: {problem.fix}."
