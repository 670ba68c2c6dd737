"""The command line as a user meets it: demo, check, and what a bad configuration prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import find_example_config

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WARDEN_"))}


def warden(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env or CLEAN_ENV, capture_output=True, text=True, timeout=120
    )


def write_config(folder: Path, **replacements: str) -> Path:
    text = find_example_config().read_text()
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    path = folder / "warden.toml"
    path.write_text(text)
    return path


def test_demo_without_tokens_prints_the_untrusted_telnet_connection(tmp_path):
    result = warden("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "connection from untrusted address 210.107.73.73" in result.stdout
    assert "Local port: 23 (telnet)" in result.stdout
    assert "13.64.12.40" in result.stdout
    unknown = result.stdout.split("DEMO  unknown-connections")[1].split("DEMO  ")[0]
    assert "10.1.20.44" not in unknown  # the trusted office address is no unknown connection
    for check in ("plaintext-services", "smtp-relay", "splctl-exposure"):
        assert f"DEMO  {check}" in result.stdout
    assert (tmp_path / "warden-demo.db").exists() and (tmp_path / "demo-ibmi" / "QSYS2.sqlite").exists()


def test_check_json_lists_findings_and_exits_1(tmp_path):
    config = write_config(tmp_path)
    result = warden("check", "--config", str(config), "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert {"system", "check", "severity", "fingerprint", "subject", "title"} <= set(findings[0])
    assert "210.107.73.73" in {f["subject"] for f in findings}


def test_check_exits_0_when_everything_is_trusted(tmp_path):
    config = write_config(
        tmp_path,
        **{
            '"10.0.0.0/8"': '"10.0.0.0/8", "0.0.0.0/0", "::/0"',
            **{
                f"[checks.{check}]\nenabled = true": f"[checks.{check}]\nenabled = false"
                for check in ("plaintext-services", "smtp-relay", "splctl-exposure")
            },
        },
    )
    result = warden("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 findings" in result.stdout


def test_check_reads_warden_config_from_the_environment(tmp_path):
    config = write_config(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = warden("check", "--json", cwd=elsewhere, env={**CLEAN_ENV, "WARDEN_CONFIG": str(config)})
    assert result.returncode == 1, result.stderr


def test_unknown_system_exits_2(tmp_path):
    config = write_config(tmp_path)
    result = warden("check", "--config", str(config), "--system", "NOPE", cwd=tmp_path)
    assert result.returncode == 2 and "unknown system 'NOPE'" in result.stderr


def test_bad_cidr_names_the_key_and_exits_2_without_traceback(tmp_path):
    config = write_config(tmp_path, **{'"10.0.0.0/8"': '"10.0.0.300/8"'})
    result = warden("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "systems[0].trusted[0]" in result.stderr and "10.0.0.300/8" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_tokens_says_which_are_missing(tmp_path):
    config = write_config(tmp_path)
    result = warden("run", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN and SLACK_APP_TOKEN" in result.stderr
    result = warden("run", "--config", str(config), "--http", "3000", cwd=tmp_path)
    assert "SLACK_SIGNING_SECRET" in result.stderr


def test_unreachable_odbc_system_is_an_error_not_a_clean_bill(tmp_path):
    config = tmp_path / "warden.toml"
    config.write_text(
        '[slack]\nalerts_channel = "C0123ALERTS"\napprovals_channel = "C0456APPROV"\n'
        '[storage]\npath = "w.db"\n'
        '[[systems]]\nname = "PROD"\nconnection = "DRIVER={No Such Driver};SYSTEM=ibmi.example.com"\n'
    )
    result = warden("check", "--config", str(config), "--json", cwd=tmp_path)
    assert result.returncode == 2
    errors = json.loads(result.stdout)["errors"]
    assert "PROD/unknown-connections" in errors


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version(tmp_path, flag):
    result = warden(flag, cwd=tmp_path)
    assert result.returncode == 0 and "ibmi-warden" in result.stdout


def test_one_off_cycles_print_findings_without_progress_logs(tmp_path):
    import re

    result = warden("demo", cwd=tmp_path)
    assert not re.search(r"\d\d:\d\d:\d\d,\d{3} INFO ", result.stderr + result.stdout)


def test_a_missing_password_variable_stops_before_anything_runs(tmp_path):
    config = tmp_path / "warden.toml"
    config.write_text(
        '[slack]\nalerts_channel = "C0123ALERTS"\napprovals_channel = "C0456APPROV"\n'
        '[storage]\npath = "w.db"\n'
        '[[systems]]\nname = "PROD"\nconnection = "DRIVER={IBM i Access ODBC Driver};SYSTEM=ibmi.example.com"\n'
        'user_env = "PROD_USER"\npassword_env = "PROD_PASSWORD"\n'
    )
    result = warden("check", "--config", str(config), cwd=tmp_path, env={**CLEAN_ENV, "PROD_USER": "WARDEN"})
    assert result.returncode == 2
    assert "PROD_PASSWORD" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "w.db").exists()
