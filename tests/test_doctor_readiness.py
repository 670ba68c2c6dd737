"""`ibmi-warden doctor` says "not ready" whenever the bot could not start: the database (read only, never
created or changed) and the second Slack secret of the chosen mode; and it warns of placeholder roles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bot.doctor.storage
from bot.doctor import BOT_SCOPES
from storage import open_database
from tests.slack_server import SlackTestServer
from tests.test_cli import CLEAN_ENV, write_config
from tests.test_doctor import doctor
from tests.test_storage import snapshot
from tests.test_storage_open import foreign_database, newer_database


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def with_storage(tmp_path: Path, path: str) -> Path:
    return write_config(tmp_path, **{'path = "warden-demo.db"': f'path = "{path}"'})


def storage_line(out: str) -> str:
    return next(line.strip() for line in out.splitlines() if line.strip().split()[1:2] == ["storage"])


def test_a_storage_path_that_is_a_folder_is_not_ready(tmp_path):
    (tmp_path / "state").mkdir()
    status, out = doctor(with_storage(tmp_path, "state"))
    assert status == 1
    assert storage_line(out) == "FAIL    storage (state is a folder)"


def test_a_missing_storage_folder_is_not_ready_and_is_not_created(tmp_path):
    status, out = doctor(with_storage(tmp_path, "mistyped/warden.db"))
    assert status == 1
    assert storage_line(out).startswith("FAIL    storage (the folder mistyped of mistyped/warden.db does not exist")
    assert "mkdir -p mistyped" in out and "--create-storage" in out
    assert not (tmp_path / "mistyped").exists()


def test_a_file_that_is_not_sqlite_is_not_ready(tmp_path):
    (tmp_path / "notes.db").write_text("meeting notes\n" * 400)
    status, out = doctor(with_storage(tmp_path, "notes.db"))
    assert status == 1
    assert storage_line(out).startswith("FAIL    storage (notes.db: cannot open the database read-only")


def test_another_programs_database_is_not_ready_and_stays_untouched(tmp_path):
    path = foreign_database(tmp_path / "invoices.db")
    before = snapshot(path)
    status, out = doctor(with_storage(tmp_path, "invoices.db"))
    assert status == 1
    assert storage_line(out).startswith(
        "FAIL    storage (invoices.db is an SQLite database of something else (tables invoices)"
    )
    assert snapshot(path) == before


def test_a_database_written_by_a_newer_version_is_not_ready(tmp_path):
    newer_database(tmp_path / "warden.db", "99.0.0")
    status, out = doctor(with_storage(tmp_path, "warden.db"))
    assert status == 1
    assert storage_line(out).startswith("FAIL    storage (warden.db was written by ibmi-warden 99.0.0")
    assert "fix: upgrade ibmi-warden" in out


def test_a_database_this_user_cannot_write_is_not_ready(tmp_path, monkeypatch):
    path = tmp_path / "warden.db"
    open_database(path, "0.1.0").close()
    # the tests may run as root, whom file modes do not stop: the doctor's write check is what is replaced
    monkeypatch.setattr(bot.doctor.storage, "_writable", lambda target: target != Path("warden.db"))
    status, out = doctor(with_storage(tmp_path, "warden.db"))
    assert status == 1
    assert storage_line(out).startswith("FAIL    storage (this user cannot write to warden.db")


def test_a_folder_this_user_cannot_write_cannot_hold_a_new_database(tmp_path, monkeypatch):
    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(bot.doctor.storage, "_writable", lambda target: target != Path("ro"))
    status, out = doctor(with_storage(tmp_path, "ro/warden.db"))
    assert status == 1
    assert storage_line(out) == (
        "FAIL    storage (no database at ro/warden.db, and this user cannot write to ro to create it)"
    )


def test_the_bots_own_database_and_a_new_one_are_ready(tmp_path):
    status, out = doctor(with_storage(tmp_path, "warden.db"))
    assert status == 0, out
    assert storage_line(out) == "ok      storage (no database at warden.db yet: the bot creates it when it starts)"
    assert not (tmp_path / "warden.db").exists()
    open_database(tmp_path / "warden.db", "0.1.0").close()
    before = snapshot(tmp_path / "warden.db")
    status, out = doctor(with_storage(tmp_path, "warden.db"))
    assert status == 0, out
    assert storage_line(out) == "ok      storage (warden.db: the ibmi-warden database, readable and writable)"
    assert snapshot(tmp_path / "warden.db") == before


# --- the Slack secrets of the chosen mode ---------------------------------------------------------------------------


def run_doctor_cli(tmp_path: Path, slack: SlackTestServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor", "--config", str(write_config(tmp_path)), *args],
        cwd=tmp_path,
        env={**CLEAN_ENV, "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_API_URL": slack.base_url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bot_token_without_an_app_token_is_not_ready_for_socket_mode(tmp_path):
    with SlackTestServer(scopes=",".join(BOT_SCOPES)) as slack:
        result = run_doctor_cli(tmp_path, slack)
        ready = run_doctor_cli(tmp_path, slack, SLACK_APP_TOKEN=slack.app_token)
    assert result.returncode == 1, result.stdout
    assert "  FAIL    Slack: Socket Mode (SLACK_APP_TOKEN is not set: the bot cannot connect over Socket Mode)" in (
        result.stdout
    )
    assert "connections:write" in result.stdout and "doctor --http PORT" in result.stdout
    assert ready.returncode == 0, ready.stdout
    assert "  ok      Slack: Socket Mode (SLACK_APP_TOKEN set)" in ready.stdout


def test_http_mode_needs_the_signing_secret(tmp_path):
    with SlackTestServer(scopes=",".join(BOT_SCOPES)) as slack:
        result = run_doctor_cli(tmp_path, slack, "--http", "3000", SLACK_APP_TOKEN=slack.app_token)
        ready = run_doctor_cli(tmp_path, slack, "--http", "3000", SLACK_SIGNING_SECRET="a-signing-secret")
    assert result.returncode == 1, result.stdout
    assert "  FAIL    Slack: HTTP on port 3000 (SLACK_SIGNING_SECRET is not set" in result.stdout
    assert ready.returncode == 0, ready.stdout
    assert "  ok      Slack: HTTP on port 3000 (SLACK_SIGNING_SECRET set)" in ready.stdout
    assert "a-signing-secret" not in ready.stdout


# --- roles --------------------------------------------------------------------------------------------------------


def test_the_examples_placeholder_roles_are_a_warning_with_the_fix(tmp_path):
    status, out = doctor(write_config(tmp_path))
    assert status == 0
    assert (
        "  WARN    roles (U01OPERATOR, U02APPROVER are the example configuration's placeholders: no one in Slack "
        "has them, so nobody they stand for can request or approve a change)"
    ) in out
    assert "WARDEN_DEMO_OPERATORS and WARDEN_DEMO_APPROVERS" in out


def test_real_roles_are_ok(tmp_path):
    config = write_config(
        tmp_path, **{'["U01OPERATOR"]': '["U0A1B2C3D"]', '["U02APPROVER"]': '["U0E4F5G6H", "@security-team"]'}
    )
    status, out = doctor(config)
    assert status == 0
    assert "  ok      roles (1 operator(s), 2 approver(s))" in out
