"""The demo in Slack with the bundled example configuration: WARDEN_DEMO_OPERATORS and WARDEN_DEMO_APPROVERS let
real people request and approve (the example's roles are placeholders nobody has), and the demo says so when
they are not set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, find_example_config, load_config
from bot.config.demo_roles import demo_roles, placeholder_members
from tests.slack_server import SlackTestServer

OPERATOR, APPROVER = "U0DEMOOPS", "U0DEMOAPP"
APPROVALS = "C0456APPROV"


def test_the_demo_variables_replace_the_placeholder_roles_and_the_approval_policies_follow():
    roles = demo_roles({"WARDEN_DEMO_OPERATORS": f" {OPERATOR}, @ops ", "WARDEN_DEMO_APPROVERS": APPROVER})
    assert roles == {"operators": [OPERATOR, "@ops"], "approvers": [APPROVER]}
    config = load_config(find_example_config(), roles=roles)
    assert config.roles.operators == (OPERATOR, "@ops") and config.roles.approvers == (APPROVER,)
    assert {policy.approvers for policy in config.approvals.values()} == {(APPROVER,)}
    assert placeholder_members(config) == []
    assert placeholder_members(load_config(find_example_config())) == ["U01OPERATOR", "U02APPROVER"]


def test_a_wrong_demo_variable_is_named():
    with pytest.raises(ConfigError) as error:
        demo_roles({"WARDEN_DEMO_APPROVERS": "alice"})
    assert error.value.problems == [
        "WARDEN_DEMO_APPROVERS: 'alice' is not a Slack user id or user group; expected a Slack user id like "
        "'U01ABCDEF' or a user group handle like '@security-team', several separated by commas"
    ]


def start_demo(tmp_path: Path, slack: SlackTestServer, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WARDEN_"))},
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_APP_TOKEN": slack.app_token,
            "SLACK_API_URL": slack.base_url,
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_message(slack: SlackTestServer, channel: str, wanted: str, absent: str = "") -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for message in slack.messages(channel):
            shown = json.dumps(message)
            if wanted in shown and not (absent and absent in shown):
                return message
        return None

    with slack._cond:  # woken by every Web API call the bot makes
        assert slack._cond.wait_for(lambda: found() is not None, timeout=60), slack.messages(channel)
        message = found()
    assert message is not None
    return message


def test_in_slack_the_demo_operator_requests_and_the_demo_approver_approves(tmp_path):
    with SlackTestServer(scopes="chat:write,commands,usergroups:read") as slack:
        process = start_demo(tmp_path, slack, WARDEN_DEMO_OPERATORS=OPERATOR, WARDEN_DEMO_APPROVERS=APPROVER)
        try:
            slack.socket.wait_connected(timeout=60)
            envelope = slack.socket.send_slash_command("trust 198.51.100.0/24 vendor VPN", user_id=OPERATOR)
            slack.socket.wait_for_ack(envelope, timeout=30)
            request = wait_for_message(slack, APPROVALS, "request_approve")
            assert "198.51.100.0/24" in json.dumps(request)
            slack.socket.send_block_action(APPROVALS, request["ts"], "request_approve", user_id=APPROVER)
            decided = wait_for_message(slack, APPROVALS, "198.51.100.0/24", absent="request_approve")
            assert decided["ts"] == request["ts"]
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=60)
    assert "placeholders" not in stderr and "Traceback" not in stderr


def test_the_demo_in_slack_says_when_nobody_can_request_or_approve(tmp_path):
    with SlackTestServer(scopes="chat:write,commands,usergroups:read") as slack:
        process = start_demo(tmp_path, slack)
        try:
            slack.socket.wait_connected(timeout=60)
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=60)
    assert (
        "ibmi-warden: the roles name only the example's placeholders (U01OPERATOR, U02APPROVER), so nobody can "
        "request or approve a change; to try that, set WARDEN_DEMO_OPERATORS and WARDEN_DEMO_APPROVERS"
    ) in stderr


def test_what_the_demo_leaves_in_the_working_directory_is_ignored_by_git():
    from fnmatch import fnmatch

    from tests.conftest import REPO

    patterns = [line.strip().lstrip("/") for line in (REPO / ".gitignore").read_text().splitlines() if line.strip()]
    for left in ("warden-demo.db", "warden-demo.db-wal", "warden-demo.db-shm", "demo-ibmi"):
        assert any(fnmatch(left, pattern.rstrip("/")) for pattern in patterns), left
