"""Opening the database refuses what is not the bot's: a missing folder (a mistyped path), another program's SQLite
file; `check_openable` says the same while only reading (for doctor)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import bot
from storage import open_database
from storage.database import (
    ForeignDatabaseError,
    MissingFolderError,
    NewerDatabaseError,
    StorageError,
    check_openable,
)
from tests.test_storage import snapshot


def test_a_missing_folder_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "mistyped" / "deeper" / "warden.db"
    with pytest.raises(MissingFolderError, match=r"the folder .*mistyped/deeper does not exist"):
        open_database(path, bot.__version__)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_created_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "state" / "warden.db"
    open_database(path, bot.__version__, create_folder=True).close()
    assert path.is_file()


def foreign_database(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()
    return path


def newer_database(path: Path, written_by: str) -> Path:
    """A database as `written_by`, a newer ibmi-warden with one more migration, leaves it."""
    open_database(path, written_by).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = version + 1")
    conn.commit()
    conn.close()
    return path


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = foreign_database(tmp_path / "invoices.db")
    before = snapshot(path)
    with pytest.raises(ForeignDatabaseError, match=r"SQLite database of something else \(tables invoices\)"):
        open_database(path, bot.__version__)
    assert snapshot(path) == before


def test_an_empty_file_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    path.touch()
    open_database(path, bot.__version__).close()
    check_openable(path, bot.__version__)


def test_check_openable_refuses_what_open_database_refuses_and_changes_nothing(tmp_path: Path) -> None:
    foreign = foreign_database(tmp_path / "invoices.db")
    text = tmp_path / "notes.txt"
    text.write_text("not a database, not ours\n" * 200)
    newer = newer_database(tmp_path / "newer.db", "9.9.9")
    befores = {path: snapshot(path) for path in (foreign, text, newer)}
    with pytest.raises(ForeignDatabaseError):
        check_openable(foreign, bot.__version__)
    with pytest.raises(StorageError, match="not a database"):
        check_openable(text, bot.__version__)
    with pytest.raises(NewerDatabaseError, match="written by ibmi-warden 9.9.9"):
        check_openable(newer, bot.__version__)
    assert {path: snapshot(path) for path in befores} == befores
    ours = tmp_path / "warden.db"
    open_database(ours, bot.__version__).close()
    check_openable(ours, bot.__version__)
