"""The bot's files are readable by its own user only: the database with its -wal and -shm, audit exports, and
whatever `ibmi-warden` creates, under the usual umask 022."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import __version__
from storage import open_database
from storage.private_files import open_private_text
from tests.test_cli import CLEAN_ENV, write_config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_database_and_its_wal_and_shm_are_0600(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "state" / "warden.db"
    storage = open_database(path, __version__, create_folder=True)
    try:
        with storage.transaction() as db:
            db.execute("CREATE TABLE written (x)")
        companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(file.exists() for file in companions)  # WAL mode, with the connection open
        assert [mode(file) for file in (path, *companions)] == [0o600, 0o600, 0o600]
        assert mode(path.parent) == 0o700
    finally:
        storage.close()


def test_an_existing_database_readable_by_others_is_narrowed_and_said_so(
    tmp_path: Path, usual_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "warden.db"
    open_database(path, __version__).close()
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="storage.private_files"):
        open_database(path, __version__).close()
    assert mode(path) == 0o600
    assert f"{path} could be read by other users (mode 0644); it is now 0600" in caplog.text


def test_a_file_that_is_not_a_database_is_refused_with_its_mode_untouched(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not sqlite, not ours")
    path.chmod(0o644)
    with pytest.raises(Exception, match="not an SQLite database"):
        open_database(path, __version__)
    assert mode(path) == 0o644


def test_an_audit_export_file_is_0600_new_or_overwritten(tmp_path: Path, usual_umask: None) -> None:
    new = tmp_path / "audit.csv"
    with open_private_text(new) as out:
        out.write("a,b\r\n")
    existing = tmp_path / "old.csv"
    existing.write_text("old rows")
    existing.chmod(0o644)
    with open_private_text(existing) as out:
        out.write("a,b\r\n")
    assert mode(new) == mode(existing) == 0o600
    assert new.read_bytes() == existing.read_bytes() == b"a,b\r\n"


def test_the_cli_creates_its_database_and_exports_0600_under_umask_022(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    def warden(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args, "--config", str(config)],
            cwd=tmp_path,
            env=CLEAN_ENV,
            capture_output=True,
            text=True,
            timeout=120,
            umask=0o022,
        )

    assert warden("check").returncode == 1
    database = tmp_path / "warden-demo.db"
    assert mode(database) == 0o600
    result = warden("audit", "--csv", str(tmp_path / "audit.csv"))
    assert result.returncode == 0, result.stderr
    assert mode(tmp_path / "audit.csv") == 0o600
    created = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("warden.toml",)]
    assert created and all(mode(p) & 0o077 == 0 for p in created), {str(p): oct(mode(p)) for p in created}
