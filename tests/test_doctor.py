"""`ibmi-warden doctor`: the checklist on the demo, with a Slack token short of a scope, an unreachable ODBC
system and a demo profile without *IOSYSCFG; and the demo's simulation of that missing authority."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Secrets, load_config
from bot.doctor import BOT_SCOPES, run_doctor
from bot.ibmi import sql
from bot.ibmi.cl import AddSmtpListEntry, ChangeSmtpRelay
from bot.ibmi.errors import CLCommandError, NotAuthorizedError
from bot.ibmi_settings import open_system
from tests.conftest import REPO
from tests.slack_server import SlackTestServer
from tests.test_cli import CLEAN_ENV, write_config

WITHOUT_IOSYSCFG = {"seed = 1\n": 'seed = 1\nmissing_authorities = ["*IOSYSCFG"]\n'}
UNREACHABLE_ODBC = """

[[systems]]
name = "PROD"
connection = "DRIVER={No Such Driver};SYSTEM=ibmi.example.invalid"
user_env = "PROD_USER"
password_env = "PROD_PASSWORD"
"""


def doctor(config: Path, secrets: Secrets | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    status = run_doctor(config, secrets or Secrets(), env=env or CLEAN_ENV, out=out)
    return status, out.getvalue()


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the demo folder "demo-ibmi" is relative to the working directory


def test_the_needed_scopes_are_app_jsons_bot_scopes():
    manifest = json.loads((REPO / "app.json").read_text(encoding="utf-8"))
    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])


def test_doctor_passes_on_the_bundled_demo_configuration(tmp_path):
    config = write_config(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor", "--config", str(config)],
        cwd=tmp_path,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "  ok      configuration (1 system: DEMO)" in out
    assert "  ok      ODBC driver (not needed: demo systems only)" in out
    assert "  ok      DEMO: NETSTAT readable (17 listening sockets" in out
    assert "  ok      DEMO: *IOSYSCFG for approved SMTP changes (WARDEN holds *IOSYSCFG)" in out
    assert "  ok      DEMO: IBM i release (IBM i 7.5)" in out
    assert "  ok      DEMO: PTF groups (installed: SF99950 level 6)" in out
    assert "  unknown DEMO: SMTP relay policy" in out and "attested_policy" in out
    assert "  ok      DEMO: SMTP lists readable (3 entries" in out
    assert "  ok      DEMO: output queues readable (4 visible" in out
    assert "  skipped Slack (SLACK_BOT_TOKEN not set)" in out
    assert "  ok      DEMO: audit system values (QAUDCTL *AUDLVL *OBJAUD; QAUDLVL *AUTFAIL" in out
    for entry_type, check in (
        ("PW", "signon-attacks"),
        ("CP", "special-authority-grants"),
        ("AF", "authority-failures"),
    ):
        assert f"  ok      DEMO: {entry_type} audit entries ({check}) ({entry_type} entries are recorded" in out
    assert "  unknown DEMO: CD audit entries (changes-behind-the-bot) (Cannot tell" in out
    assert "CHGUSRAUD USRPRF(QSECOFR) AUDLVL(*CMD)" in out
    assert "\n  FAIL" not in out and result.stderr == ""


def test_a_bot_token_without_a_needed_scope_fails_naming_it_and_the_fix(tmp_path):
    config = write_config(tmp_path)
    with SlackTestServer(scopes="chat:write,commands") as slack:
        env = {**CLEAN_ENV, "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_API_URL": slack.base_url}
        result = subprocess.run(
            [sys.executable, "-m", "bot", "doctor", "--config", str(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert [call.method for call in slack.calls] == ["auth.test"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "  FAIL    Slack: scopes (missing usergroups:read)" in result.stdout
    assert "fix: add usergroups:read to the app's bot token scopes" in result.stdout
    assert "reinstall the app" in result.stdout
    assert slack.bot_token not in result.stdout + result.stderr


def test_slack_with_every_scope_passes_and_leaves_the_channels_unknown(tmp_path):
    with SlackTestServer(scopes=",".join(BOT_SCOPES)) as slack:
        status, out = doctor(
            write_config(tmp_path),
            Secrets(slack_bot_token=slack.bot_token, slack_app_token=slack.app_token, slack_api_url=slack.base_url),
        )
    assert status == 0, out
    assert "  ok      Slack: bot token (accepted: workspace Warden Test" in out
    assert f"  ok      Slack: scopes ({', '.join(BOT_SCOPES)})" in out
    assert "  unknown Slack: channels C0123ALERTS, C0456APPROV (checked when the bot first posts" in out


def test_a_refused_bot_token_fails_with_the_fix(tmp_path):
    with SlackTestServer() as slack:
        status, out = doctor(
            write_config(tmp_path), Secrets(slack_bot_token="xoxb-not-this-one", slack_api_url=slack.base_url)
        )
    assert status == 1
    assert "  FAIL    Slack: bot token (the token was refused: invalid_auth)" in out
    assert "reinstall the app" in out and "xoxb-not-this-one" not in out


def test_an_unreachable_odbc_system_fails_with_the_fix(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text() + UNREACHABLE_ODBC)
    status, out = doctor(config, env={**CLEAN_ENV, "PROD_USER": "warden", "PROD_PASSWORD": "s3cret-pass"})
    assert status == 1, out
    assert "  FAIL    PROD: reachable (" in out
    assert "fix: check SYSTEM= (or the DSN) in the connection string" in out
    assert "PROD_USER and PROD_PASSWORD" in out
    assert "  FAIL    ODBC driver (" in out and "ibm-iaccess" in out  # no IBM i Access driver here either
    assert "  ok      DEMO: NETSTAT readable" in out  # the other system is still checked
    assert "s3cret-pass" not in out


def test_an_odbc_system_without_its_credentials_says_which_variables_to_set(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text() + UNREACHABLE_ODBC)
    status, out = doctor(config)
    assert status == 1
    assert "  FAIL    PROD: credentials (PROD_USER and PROD_PASSWORD not set in the environment)" in out
    assert "PROD: reachable" not in out


def test_a_demo_profile_without_iosyscfg_fails_naming_the_authority_and_the_fixes(tmp_path):
    status, out = doctor(write_config(tmp_path, **WITHOUT_IOSYSCFG))
    assert status == 1, out
    assert "  FAIL    DEMO: NETSTAT readable ([SQL0551] Not authorized to object NETSTAT_INFO" in out
    assert "CHGFCNUSG FCNID(QIBM_IOSYSCFG_VIEW) USER(WARDEN) USAGE(*ALLOWED)" in out
    assert "each refused NETSTAT read writes an authority-failure entry to the security audit journal" in out
    assert "asks again at most hourly" in out
    assert "  WARN    DEMO: NETSTAT_JOB_INFO readable" in out
    assert "  FAIL    DEMO: *IOSYSCFG for approved SMTP changes (WARDEN does not hold *IOSYSCFG" in out
    assert "CHGUSRPRF USRPRF(WARDEN) SPCAUT(*IOSYSCFG)" in out
    assert "  ok      DEMO: SMTP lists readable" in out  # reading the lists needs no *IOSYSCFG


def test_iosyscfg_is_not_needed_when_no_one_may_approve_smtp_changes(tmp_path):
    config = write_config(tmp_path, **WITHOUT_IOSYSCFG)
    config.write_text(
        config.read_text().replace(
            "[approvals]\n",
            "[approvals]\n[approvals.smtp-add]\napprovers = []\n[approvals.smtp-remove]\napprovers = []\n"
            "[approvals.relay-set]\napprovers = []\n",
            1,
        )
    )
    status, out = doctor(config)
    assert "  ok      DEMO: *IOSYSCFG for approved SMTP changes (not needed: no one may approve" in out
    assert status == 1  # NETSTAT still cannot be read


def test_a_configuration_that_cannot_be_loaded_exits_2(tmp_path):
    config = write_config(tmp_path, **{"[slack]\n": "[slack]\ncolour = 'blue'\n"})
    status, out = doctor(config)
    assert status == 2
    assert "  FAIL    configuration (1 problem)" in out and "slack.colour: unknown key" in out
    assert "DEMO:" not in out


# --- the demo's missing authorities ----------------------------------------------------------------------


def test_missing_authorities_accepts_only_removable_special_authorities(tmp_path):
    config = write_config(tmp_path, **{"seed = 1\n": 'seed = 1\nmissing_authorities = ["*IOSYSCFG", "*SECADM"]\n'})
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert any(
        "systems[0].demo.missing_authorities[1]: '*SECADM'" in p and "*IOSYSCFG, *SPLCTL, *JOBCTL, *ALLOBJ" in p
        for p in raised.value.problems
    ), raised.value.problems
    settings = load_config(write_config(tmp_path, **WITHOUT_IOSYSCFG)).systems[0]
    assert settings.demo is not None and settings.demo.missing_authorities == ("*IOSYSCFG",)


def test_the_demo_without_iosyscfg_refuses_netstat_and_smtp_changes_as_ibm_i_7_6_does(tmp_path):
    settings = load_config(write_config(tmp_path, **WITHOUT_IOSYSCFG)).systems[0]
    connection = open_system(settings)
    try:
        with pytest.raises(NotAuthorizedError, match=r"SQL0551\] Not authorized to object NETSTAT_INFO in QSYS2"):
            sql.read_tcp_connections(connection)
        with pytest.raises(NotAuthorizedError, match="NETSTAT_JOB_INFO"):
            sql.read_connection_jobs(connection)
        for command in (ChangeSmtpRelay.build("*LIST"), AddSmtpListEntry.build("*ACCEPT", "10.9.9.9")):
            with pytest.raises(CLCommandError) as raised:
                connection.run_cl(command)
            assert raised.value.message_id == "TCP8050" and "*IOSYSCFG" in raised.value.text
        assert sql.read_user_special_authorities(connection, "warden") == frozenset()
        assert sql.read_user_special_authorities(connection, "NOSUCHUSER") is None
        assert sql.read_smtp_lists(connection).readable
    finally:
        connection.close()
    # The same demo folder with the authority back: the profile holds it again and NETSTAT answers.
    restored = dataclasses.replace(settings, demo=dataclasses.replace(settings.demo, missing_authorities=()))
    connection = open_system(restored)
    try:
        assert sql.read_user_special_authorities(connection, "WARDEN") == frozenset({"*IOSYSCFG"})
        assert any(row.is_listening for row in sql.read_tcp_connections(connection))
        connection.run_cl(ChangeSmtpRelay.build("*LIST"))
    finally:
        connection.close()


def test_without_the_channel_event_scopes_doctor_warns_that_invites_are_noticed_late(tmp_path):
    with SlackTestServer(scopes="chat:write,commands,usergroups:read") as slack:
        status, out = doctor(
            write_config(tmp_path),
            Secrets(slack_bot_token=slack.bot_token, slack_app_token=slack.app_token, slack_api_url=slack.base_url),
        )
    assert status == 0, out
    assert "  WARN    Slack: scopes (missing channels:read, groups:read: messages parked because" in out
