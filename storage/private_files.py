"""Files the bot writes (its database, audit exports) hold addresses, user profiles and the audit: they are
created readable and writable by the bot's own user only (mode 0600), whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

PRIVATE_MODE = 0o600
# The files SQLite keeps beside a database in WAL mode; it creates them with the database's own mode.
SQLITE_COMPANIONS = ("-wal", "-shm")


def create_private(path: Path) -> bool:
    """Create an empty file at `path` with mode 0600; False (and nothing changed) when it already exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    except FileExistsError:
        return False
    return True


def open_private_text(path: str | Path) -> TextIO:
    """Open `path` for writing text (UTF-8, no newline translation), created or truncated, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        _restrict(fd, path)
        return os.fdopen(fd, "w", newline="", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def make_private(path: Path) -> None:
    """Take away group and other permissions from an existing file (logged); a warning when that is refused."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & 0o077:
        return
    try:
        path.chmod(mode & 0o700)
    except OSError as error:
        log.warning(
            "%s can be read by other users (mode %04o) and cannot be changed (%s); run chmod 600 on it",
            path,
            mode,
            error.strerror or error,
        )
        return
    log.warning("%s could be read by other users (mode %04o); it is now %04o", path, mode, mode & 0o700)


def _restrict(fd: int, path: str | Path) -> None:
    """An existing file keeps its mode through O_CREAT: narrow it, when the bot's user owns the file."""
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & 0o077:
        try:
            os.fchmod(fd, mode & 0o700)
        except PermissionError:
            log.warning("%s can be read by other users (mode %04o) and belongs to another user", path, mode)
