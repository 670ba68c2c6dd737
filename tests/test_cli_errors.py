"""Every error path of the command line: one line saying what to change, exit status 2 (never the 1 that `check`
means findings by), a traceback only with --debug; a missing storage folder refused unless asked; `trace`
without a configuration."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

import bot.cli
from bot.cli import main
from tests.slack_server import SlackTestServer
from tests.test_cli import CLEAN_ENV, cli_logging, warden, write_config

__all__ = ["cli_logging"]  # a fixture


def error_lines(stderr: str) -> list[str]:
    """What the user reads: argparse's usage lines left out."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(("usage:", " "))]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["run", "--http", "-1"], "argument --http: expected a port number from 1 to 65535, not '-1'"),
        (["run", "--http", "70000"], "argument --http: expected a port number from 1 to 65535, not '70000'"),
        (["demo", "--http", "0"], "argument --http: expected a port number from 1 to 65535, not '0'"),
        (["doctor", "--http", "http"], "argument --http: expected a port number from 1 to 65535, not 'http'"),
        (["run", "--host", "999.1.1.1"], "argument --host: '999.1.1.1' is not an address or host name"),
    ],
)
def test_a_wrong_port_or_host_is_one_line_and_exit_2(tmp_path: Path, args: list[str], said: str) -> None:
    result = warden(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and said in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_a_config_host_that_is_no_address_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, **{'host = "127.0.0.1"': 'host = "999.1.1.1"'})
    result = warden("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "http.host: '999.1.1.1' is not an address or host name" in result.stderr


def damage(database: Path, table: str) -> None:
    """Overwrite the pages of `table` and its indexes with bytes SQLite rejects as malformed."""
    conn = sqlite3.connect(database)
    roots = [row[0] for row in conn.execute("SELECT rootpage FROM sqlite_master WHERE tbl_name = ?", (table,))]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with database.open("r+b") as file:
        for root in (r for r in roots if r):
            file.seek((root - 1) * page_size)
            file.write(b"\x07" * page_size)


def test_a_damaged_database_is_a_storage_error_not_findings(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert warden("check", "--config", str(config), cwd=tmp_path).returncode == 1
    damage(tmp_path / "warden-demo.db", "change_requests")  # read by every cycle
    result = warden("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert error_lines(result.stderr) == [
        "ibmi-warden: storage error: warden-demo.db: database disk image is malformed; the database is damaged: "
        "stop the bot, then restore a backup (or save what can be read with sqlite3's .recover)"
    ]


def test_an_unexpected_error_is_one_line_and_exit_2_with_the_traceback_at_debug(
    tmp_path, monkeypatch, capsys, cli_logging
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)

    def broken(*_args: object) -> int:
        raise RuntimeError("the unexpected happened")

    monkeypatch.setattr(bot.cli, "_check", broken)
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "ibmi-warden: unexpected error: RuntimeError: the unexpected happened; run the command again with --debug "
        "to see where, and report it\n"
    )
    assert main(["check", "--config", str(config), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "in broken" in err and "the unexpected happened" in err


def run_http(tmp_path: Path, slack: SlackTestServer, *args: str):
    config = write_config(tmp_path)
    env = {
        **CLEAN_ENV,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "a-signing-secret",
        "SLACK_API_URL": slack.base_url,
    }
    return warden("run", "--config", str(config), *args, cwd=tmp_path, env=env)


def test_a_busy_port_stops_the_bot_with_one_line_before_it_starts(tmp_path: Path) -> None:
    with socket.socket() as taken, SlackTestServer() as slack:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_http(tmp_path, slack, "--http", str(port))
        assert not slack.calls_to("auth.test")  # refused before waiting for Slack
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert error_lines(result.stderr)[-1] == (
        f"ibmi-warden: cannot listen on 127.0.0.1:{port}: another program listens on port {port}; "
        "stop it or choose another --http"
    )


def test_an_address_not_of_this_machine_says_which_to_use(tmp_path: Path) -> None:
    with SlackTestServer() as slack:
        result = run_http(tmp_path, slack, "--http", "3000", "--host", "192.0.2.1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert error_lines(result.stderr)[-1] == (
        "ibmi-warden: cannot listen on 192.0.2.1:3000: 192.0.2.1 is not an address of this machine; use one of its "
        "addresses, 127.0.0.1, or 0.0.0.0 for every address (--host or [http] host)"
    )


# --- a mistyped storage path --------------------------------------------------------------------------------------


def test_a_missing_storage_folder_is_refused_unless_asked(tmp_path: Path) -> None:
    config = write_config(tmp_path, **{'path = "warden-demo.db"': 'path = "stat/warden.db"'})
    result = warden("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert error_lines(result.stderr) == [
        "ibmi-warden: storage error: stat/warden.db: the folder stat does not exist; correct [storage] path, "
        "create the folder, or pass --create-storage to have it created"
    ]
    assert not (tmp_path / "stat").exists()
    result = warden("check", "--config", str(config), "--create-storage", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert (tmp_path / "stat" / "warden.db").is_file()


def test_the_demo_creates_its_own_storage_folder(tmp_path: Path) -> None:
    config = write_config(tmp_path, **{'path = "warden-demo.db"': 'path = "demo-state/warden.db"'})
    result = warden("demo", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo-state" / "warden.db").is_file()


# --- trace without a configuration ----------------------------------------------------------------------------------


def test_trace_needs_no_configuration_and_leaves_nothing_behind(tmp_path: Path) -> None:
    result = warden("trace", "10.1.2.3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "10.1.2.3: Private-Use network (RFC 1918): not looked up\n"
    assert list(tmp_path.iterdir()) == []


def test_trace_without_configuration_looks_up_with_a_cache_of_its_own(tmp_path, monkeypatch, capsys, cli_logging):
    from datetime import UTC, datetime

    from bot.trace import Owner, Tracer

    monkeypatch.chdir(tmp_path)
    caches: list[Path] = []

    def lookup(self: Tracer, address: str) -> Owner:
        caches.append(self.storage.path)
        return Owner(address=address, kind="rdap", organisation="Example Org", looked_up_at=datetime.now(UTC))

    monkeypatch.setattr(Tracer, "trace", lookup)
    assert main(["trace", "12.0.0.1"]) == 0
    assert capsys.readouterr().out.startswith("12.0.0.1: Example Org")
    assert caches and not caches[0].exists() and not caches[0].is_relative_to(tmp_path)
    assert list(tmp_path.iterdir()) == []
