"""The command line as a user meets it: demo, check, and what a bad configuration prints."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import __version__
from bot.checks.finding import Finding
from bot.cli import main
from bot.cli_text import format_findings
from bot.config import find_example_config
from storage import open_database, rdap_cache

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
                for check in ("plaintext-services", "smtp-relay", "splctl-exposure", *JOURNAL_CHECKS)
            },
        },
    )
    result = warden("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 findings" in result.stdout


JOURNAL_CHECKS = ("signon-attacks", "authority-failures", "special-authority-grants", "changes-behind-the-bot")


def test_check_json_includes_the_audit_journal_events_with_the_contract_of_the_other_checks(tmp_path):
    config = write_config(tmp_path)
    result = warden("check", "--json", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    events = {f["check"]: f for f in findings if f["check"] in JOURNAL_CHECKS and f["severity"] != "info"}
    assert set(events) == set(JOURNAL_CHECKS)
    assert {tuple(sorted(f)) for f in findings} == {tuple(sorted(findings[0]))}  # one shape for every check
    titles = {f["check"]: f["title"] for f in findings if f["check"] in JOURNAL_CHECKS}
    assert "210.107.73.73" in json.dumps([f for f in findings if f["check"] == "signon-attacks"])
    assert "JSMITH" in titles["special-authority-grants"] and "*SPLCTL" in titles["special-authority-grants"]
    assert "CHGSMTPA" in titles["changes-behind-the-bot"]
    assert "PAYLIB/PAYROLL" in titles["authority-failures"]


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


# --- the terminal gets plain text: no mrkdwn, no HTML entities ---------------------------------------------------


@pytest.fixture
def cli_logging():
    """`main` configures the root logger for the terminal; put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def cache_owner(config: Path, owner) -> None:
    """Put `owner` in the RDAP cache of the configuration's database: `ibmi-warden trace` then answers from it."""
    from bot.config import load_config
    from bot.trace.owner import owner_record

    storage = open_database(load_config(config).storage.path, __version__)
    try:
        rdap_cache.put(storage, owner.address, owner_record(owner), time.time())
    finally:
        storage.close()


def test_trace_prints_the_owner_as_plain_text(tmp_path, monkeypatch, capsys, cli_logging):
    from bot.trace import Owner

    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    owner = Owner(
        address="12.0.0.1",
        kind="rdap",
        organisation="AT&T Enterprises, LLC",
        network_name="ATT",
        cidr="12.0.0.0/8",
        country="US",
        asn="7018",
        asn_description="ATT-INTERNET4 <AT&T *Services*>",
        abuse_email="abuse@att.net",
        registry="arin",
        looked_up_at=datetime.now(UTC),
    )
    cache_owner(config, owner)
    assert main(["trace", "--config", str(config), "::ffff:12.0.0.1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "12.0.0.1: ATT (AT&T Enterprises, LLC), US, AS7018, 12.0.0.0/8",
        "Organisation: AT&T Enterprises, LLC",
        "Network: ATT",
        "CIDR: 12.0.0.0/8",
        "Country: US",
        "ASN: AS7018 ATT-INTERNET4 <AT&T *Services*>",
        "Registry: arin",
        "Abuse contact: abuse@att.net",
    ]
    assert "&amp;" not in out and "&lt;" not in out


def test_trace_makes_control_characters_from_the_registry_harmless(tmp_path, monkeypatch, capsys, cli_logging):
    from bot.trace import Owner

    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    cache_owner(
        config,
        Owner(address="12.0.0.2", kind="rdap", organisation="Evil\x1b[2J\nCorp", looked_up_at=datetime.now(UTC)),
    )
    assert main(["trace", "--config", str(config), "12.0.0.2"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "Evil\\x1b[2J Corp" in out


def test_trace_refuses_what_slash_ibmi_trace_refuses(tmp_path, monkeypatch, capsys, cli_logging):
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    assert main(["trace", "--config", str(config), "[2001:db8::7]"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "ibmi-warden: cannot trace: “[2001:db8::7]” is in brackets; give the address without them."


def test_a_local_answer_is_one_line(tmp_path, monkeypatch, capsys, cli_logging):
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    assert main(["trace", "--config", str(config), "10.1.2.3"]) == 0
    assert capsys.readouterr().out == "10.1.2.3: Private-Use network (RFC 1918): not looked up\n"


def test_findings_are_printed_as_they_are():
    finding = Finding(
        system="PROD",
        check="unknown-connections",
        severity="warning",
        subject="12.0.0.1",
        title="connection from AT&T <12.0.0.1>",
        details=("Owner: AT&T *Enterprises*",),
    )
    text = format_findings([finding], {"PROD/smtp-relay": "a <b> & c"})
    assert "connection from AT&T <12.0.0.1>" in text and "Owner: AT&T *Enterprises*" in text
    assert "PROD/smtp-relay  ERROR  a <b> & c" in text
    assert "&amp;" not in text and "&lt;" not in text


def test_check_with_one_hung_system_returns_at_the_deadline_with_the_healthy_systems_findings(tmp_path):
    healthy = write_config(tmp_path).read_text()
    hung_system = (
        '\n[[systems]]\nname = "HUNG"\nconnection = "demo"\nstatement_deadline = "0.5s"\nlogin_timeout = "1s"\n'
        '[systems.demo]\npath = "demo-hung"\nhang = true\n'
    )
    head, checks = healthy.split("\n[checks", 1)
    config = tmp_path / "warden.toml"
    config.write_text(head + hung_system + "\n[checks" + checks)
    started = time.monotonic()
    result = warden("check", "--config", str(config), "--json", cwd=tmp_path)
    assert time.monotonic() - started < 0.5 + 1 + 20  # the deadline plus a few seconds (a Python start-up)
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert "210.107.73.73" in {f["subject"] for f in report["findings"] if f["system"] == "DEMO"}
    assert not [f for f in report["findings"] if f["system"] == "HUNG"]
    hung_errors = {key: text for key, text in report["errors"].items() if key.startswith("HUNG/")}
    assert hung_errors and all("did not answer within 1.5s" in text for text in hung_errors.values())
