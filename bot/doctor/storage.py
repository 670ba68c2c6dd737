"""Doctor: the bot's database ([storage] path) — it can be opened and written, or created where it is missing.
Read-only: nothing is created or migrated."""

from __future__ import annotations

import os
from pathlib import Path

from bot import __version__
from bot.config import Config
from bot.doctor.report import FAIL, OK, Report
from storage.database import NewerDatabaseError, StorageError, check_openable

NAME = "storage"


def _writable(path: Path) -> bool:  # by this user; the bot may run as another
    return os.access(path, os.W_OK)


def check_storage(config: Config, report: Report) -> None:
    path = config.storage.path
    folder = path.parent
    if path.is_dir():
        report.add(FAIL, NAME, f"{path} is a folder", fix=f"set [storage] path to a file, e.g. {path / 'warden.db'}")
        return
    if not folder.is_dir():
        report.add(
            FAIL,
            NAME,
            f"the folder {folder} of {path} does not exist; the bot refuses to start rather than begin a new database",
            fix=f"correct [storage] path if it is mistyped; else create the folder (mkdir -p {folder}) or start the "
            "bot once with --create-storage",
        )
        return
    if not path.exists():
        if _writable(folder):
            report.add(OK, NAME, f"no database at {path} yet: the bot creates it when it starts")
        else:
            report.add(
                FAIL,
                NAME,
                f"no database at {path}, and this user cannot write to {folder} to create it",
                fix=f"let the bot's user write to {folder}, or set [storage] path to a folder it can write to",
            )
        return
    try:
        check_openable(path, __version__)
    except NewerDatabaseError as error:
        report.add(FAIL, NAME, str(error), fix="upgrade ibmi-warden, or restore a backup made before the upgrade")
        return
    except StorageError as error:
        report.add(
            FAIL,
            NAME,
            str(error),
            fix="point [storage] path at the bot's own database, or at a new file in an existing folder",
        )
        return
    read_only = [str(target) for target in (path, folder) if not _writable(target)]
    if read_only:
        report.add(
            FAIL,
            NAME,
            f"this user cannot write to {' or '.join(read_only)} (SQLite writes its -wal and -shm files beside the "
            "database)",
            fix=f"let the bot's user write to {path} and its folder {folder}",
        )
        return
    report.add(OK, NAME, f"{path}: the ibmi-warden database, readable and writable")
