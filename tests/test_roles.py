"""Roles: user ids and @usergroup handles, resolved through the Slack test server, cached, and failing closed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.config import APPROVAL_ACTIONS, ApprovalPolicy, RoleSettings
from bot.slack.roles import FRESH_WITHIN, Roles
from tests.slack_server import SlackTestServer


class UsergroupsSlack(SlackTestServer):
    """The test server plus `usergroups.list`, answered from the groups added with `add_usergroup` as Slack
    answers it: enabled groups only, handles without '@', `usergroups:read` required."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.disabled: set[str] = set()

    def _method_handlers(self):  # type: ignore[override]
        return {**super()._method_handlers(), "usergroups.list": self._usergroups_list}

    def _usergroups_list(self, request: Any) -> dict[str, Any]:
        self._require_scope(request, "usergroups:read")
        with self._cond:
            groups = [dict(group) for group in self._usergroups.values() if group["id"] not in self.disabled]
        return {
            "usergroups": [
                {
                    "id": g["id"],
                    "team_id": "T0WARDEN",
                    "is_usergroup": True,
                    "name": g["name"],
                    "handle": g["handle"],
                    "date_delete": 0,
                    "user_count": len(g["users"]),
                }
                for g in groups
            ]
        }


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[UsergroupsSlack]:
    with UsergroupsSlack() as server:
        server.add_usergroup("S0SECOPS", handle="security-team", users=["U0ALICE", "U0BOB"])
        server.add_usergroup("S0NETOPS", handle="network-team", users=["U0CAROL"])
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_for(server: SlackTestServer, token: str | None = None) -> WebClient:
    return WebClient(token=token or server.bot_token, base_url=server.base_url)


def slack_calls(server: SlackTestServer) -> list[str]:
    return [call.method for call in server.calls if call.method.startswith("usergroups.")]


def make_roles(
    server: SlackTestServer | None,
    clock: Clock,
    viewers: tuple[str, ...] = (),
    operators: tuple[str, ...] = ("U0OPER",),
    approvers: tuple[str, ...] = ("U0APPROVER",),
    policies: dict[str, ApprovalPolicy] | None = None,
    **kwargs: Any,
) -> Roles:
    settings = RoleSettings(viewers=viewers, operators=operators, approvers=approvers)
    client = client_for(server) if server is not None else None
    return Roles(settings, policies or {}, client, ttl=300.0, clock=clock, **kwargs)


# --- ids and handles --------------------------------------------------------------------------------


def test_user_ids_need_no_slack(clock: Clock) -> None:
    roles = make_roles(None, clock, viewers=("U0VIEW",))
    assert roles.is_viewer("U0VIEW") and not roles.is_viewer("U0NOBODY")
    assert roles.is_operator("U0OPER") and not roles.is_operator("U0VIEW")
    assert roles.is_approver("U0APPROVER") and not roles.is_approver("U0OPER")
    assert roles.members(["U0A1", "W0ENTERPRISE", "U0A1"]) == {"U0A1", "W0ENTERPRISE"}


def test_empty_viewers_means_operators_and_approvers_only(clock: Clock) -> None:
    roles = make_roles(None, clock, policies={"trust": ApprovalPolicy(approvers=("U0TRUSTEE",))})
    assert roles.is_viewer("U0OPER") and roles.is_viewer("U0APPROVER") and roles.is_viewer("U0TRUSTEE")
    assert not roles.is_viewer("U0ANYONE") and not roles.is_viewer("W0ANYONE")
    assert not roles.is_viewer("") and not roles.is_viewer("@security-team")


def test_operators_and_approvers_may_view_beside_the_listed_viewers(clock: Clock) -> None:
    roles = make_roles(None, clock, viewers=("U0VIEW",))
    assert roles.is_viewer("U0VIEW") and roles.is_viewer("U0OPER") and roles.is_viewer("U0APPROVER")


def test_a_star_among_the_viewers_opens_viewing_to_everyone(clock: Clock) -> None:
    roles = make_roles(None, clock, viewers=("*",))
    assert roles.is_viewer("U0ANYONE") and roles.is_viewer("W0ANYONE")
    assert not roles.is_viewer("") and not roles.is_viewer("@security-team") and not roles.is_viewer("*")
    assert roles.members(["*"]) == frozenset() and roles.handles() == ()
    assert not roles.is_operator("U0ANYONE")


def test_approvers_may_request(clock: Clock) -> None:
    roles = make_roles(None, clock, policies={"trust": ApprovalPolicy(approvers=("U0TRUSTEE",))})
    assert roles.is_operator("U0APPROVER")  # [roles].approvers
    assert roles.is_operator("U0TRUSTEE")  # an action's approvers
    assert not roles.is_operator("U0NOBODY")


def test_handles_resolve_through_slack(slack: UsergroupsSlack, clock: Clock) -> None:
    roles = make_roles(slack, clock, viewers=("@security-team", "U0DAVE"), operators=("@network-team",))
    assert roles.members(["@security-team", "U0DAVE"]) == {"U0ALICE", "U0BOB", "U0DAVE"}
    assert roles.is_viewer("U0ALICE") and roles.is_viewer("U0DAVE")
    assert roles.is_viewer("U0CAROL")  # an operator, through @network-team
    assert not roles.is_viewer("U0NOBODY")
    assert roles.is_operator("U0CAROL") and not roles.is_operator("U0ALICE")
    (users_call,) = [
        c for c in slack.calls if c.method == "usergroups.users.list" and c.params.get("usergroup") == "S0SECOPS"
    ]
    assert users_call.token == slack.bot_token


def test_a_listed_id_is_answered_without_a_web_api_call(slack: UsergroupsSlack, clock: Clock) -> None:
    roles = make_roles(slack, clock, viewers=("U0DAVE", "@security-team"))
    assert roles.is_viewer("U0DAVE")
    assert slack_calls(slack) == []


def test_a_handle_is_never_mistaken_for_a_user(slack: UsergroupsSlack, clock: Clock) -> None:
    roles = make_roles(slack, clock, viewers=("@security-team",), approvers=("@security-team",))
    assert not roles.is_viewer("@security-team")
    assert not roles.is_approver("@security-team")
    assert not roles.is_approver("S0SECOPS")


def test_unknown_handle_is_no_one(slack: UsergroupsSlack, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    roles = make_roles(slack, clock, approvers=("@ghosts",))
    with caplog.at_level(logging.WARNING, logger="bot.slack.roles"):
        assert roles.members(["@ghosts"]) == frozenset()
        assert not roles.is_approver("U0ALICE")
    assert "@ghosts" in caplog.text and "no enabled user group has this handle" in caplog.text


def test_a_disabled_group_is_no_one(slack: UsergroupsSlack, clock: Clock) -> None:
    slack.disabled.add("S0SECOPS")
    roles = make_roles(slack, clock, approvers=("@security-team",))
    assert not roles.is_approver("U0ALICE")


# --- cache --------------------------------------------------------------------------------------------


def test_resolution_is_cached_for_ttl(slack: UsergroupsSlack, clock: Clock) -> None:
    roles = make_roles(slack, clock, approvers=("@security-team",))
    assert roles.is_approver("U0ALICE")
    assert slack_calls(slack) == ["usergroups.list", "usergroups.users.list"]

    clock.now += 299
    assert roles.is_approver("U0BOB") and not roles.is_approver("U0CAROL")
    assert roles.members(["@security-team"]) == {"U0ALICE", "U0BOB"}
    assert slack_calls(slack) == ["usergroups.list", "usergroups.users.list"]  # nothing new within ttl

    slack.add_usergroup("S0SECOPS", handle="security-team", users=["U0CAROL"])  # membership changes in Slack
    clock.now += 1
    assert roles.is_approver("U0CAROL") and not roles.is_approver("U0ALICE")
    assert slack_calls(slack) == ["usergroups.list", "usergroups.users.list"] * 2


def test_a_decision_resolves_the_group_again_unless_it_was_resolved_within_seconds(
    slack: UsergroupsSlack, clock: Clock
) -> None:
    roles = make_roles(slack, clock, approvers=("@security-team",))
    assert roles.is_approver("U0ALICE") and roles.is_approver_now("U0ALICE")
    assert slack_calls(slack) == ["usergroups.list", "usergroups.users.list"]  # younger than FRESH_WITHIN
    slack.add_usergroup("S0SECOPS", handle="security-team", users=["U0BOB"])  # Alice leaves the group
    clock.now += FRESH_WITHIN + 1
    assert roles.is_approver("U0ALICE")  # the ordinary check keeps its cache for ttl
    assert not roles.is_approver_now("U0ALICE") and roles.approvers_now() == {"U0BOB"}
    assert slack_calls(slack) == ["usergroups.list", "usergroups.users.list"] * 2
    assert not roles.is_approver("U0ALICE")  # and the fresh answer is what the cache holds now
    assert len(slack_calls(slack)) == 4


def test_one_directory_call_serves_every_handle(slack: UsergroupsSlack, clock: Clock) -> None:
    roles = make_roles(slack, clock, operators=("@network-team",), approvers=("@security-team",))
    roles.prefetch()
    assert sorted(slack_calls(slack)) == ["usergroups.list", "usergroups.users.list", "usergroups.users.list"]
    assert roles.is_operator("U0CAROL") and roles.is_approver("U0BOB")
    assert len(slack_calls(slack)) == 3


def test_concurrent_checks_share_one_lookup(slack: UsergroupsSlack, clock: Clock) -> None:
    roles = make_roles(slack, clock, approvers=("@security-team",))
    results: list[bool] = []
    start = threading.Barrier(8)

    def check() -> None:
        start.wait()
        results.append(roles.is_approver("U0ALICE"))

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [True] * 8
    assert slack_calls(slack) == ["usergroups.list", "usergroups.users.list"]


def test_forget_asks_slack_again(slack: UsergroupsSlack, clock: Clock) -> None:
    roles = make_roles(slack, clock, approvers=("@security-team",))
    assert roles.is_approver("U0ALICE")
    roles.forget()
    assert roles.is_approver("U0ALICE")
    assert len(slack_calls(slack)) == 4


# --- failing closed -------------------------------------------------------------------------------------


def test_slack_error_is_no_one_and_warns_once_per_ttl(
    slack: UsergroupsSlack, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    roles = make_roles(slack, clock, viewers=("@security-team",), approvers=("@security-team",))
    slack.fail_next("usergroups.users.list", status=HTTPStatus.OK, error="fatal_error")
    with caplog.at_level(logging.WARNING, logger="bot.slack.roles"):
        assert not roles.is_approver("U0ALICE")
        assert not roles.is_viewer("U0ALICE")  # the failure is remembered: no second call at once
        assert roles.members(["@security-team", "U0DAVE"]) == {"U0DAVE"}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "@security-team" in warnings[0].getMessage() and "fatal_error" in warnings[0].getMessage()
    assert slack_calls(slack) == ["usergroups.list", "usergroups.users.list"]

    clock.now += 30  # the retry interval: Slack answers again
    assert roles.is_approver("U0ALICE")


def test_an_expired_resolution_is_not_reused_when_slack_fails(slack: UsergroupsSlack, clock: Clock) -> None:
    roles = make_roles(slack, clock, approvers=("@security-team",))
    assert roles.is_approver("U0ALICE")
    clock.now += 300
    slack.fail_next("usergroups.list", status=HTTPStatus.OK, error="ratelimited")
    assert not roles.is_approver("U0ALICE")


def test_unreachable_slack_is_no_one(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    with SlackTestServer() as gone:
        client = client_for(gone)
    roles = Roles(RoleSettings(approvers=("@security-team", "U0APPROVER")), {}, client, clock=clock)
    with caplog.at_level(logging.WARNING, logger="bot.slack.roles"):
        assert not roles.is_approver("U0ALICE")
        assert roles.is_approver("U0APPROVER")
    assert "usergroups.list failed" in caplog.text


def test_missing_scope_is_no_one(clock: Clock) -> None:
    with UsergroupsSlack() as server:
        server.add_usergroup("S0SECOPS", handle="security-team", users=["U0ALICE"])
        server.add_token("xoxb-no-usergroups", "bot", "chat:write,commands")
        roles = Roles(
            RoleSettings(approvers=("@security-team",)), {}, client_for(server, "xoxb-no-usergroups"), clock=clock
        )
        assert not roles.is_approver("U0ALICE")
        assert [c.response["error"] for c in server.calls_to("usergroups.list")] == ["missing_scope"]


def test_a_server_without_usergroups_list_is_no_one(clock: Clock) -> None:
    with SlackTestServer() as server:  # answers usergroups.list with unknown_method
        server.add_usergroup("S0SECOPS", handle="security-team", users=["U0ALICE"])
        roles = Roles(RoleSettings(approvers=("@security-team",)), {}, client_for(server), clock=clock)
        assert not roles.is_approver("U0ALICE")
        assert server.calls_to("usergroups.users.list") == []


def test_no_client_means_handles_are_no_one(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    roles = make_roles(
        None,
        clock,
        viewers=("@security-team",),
        operators=("@security-team",),
        approvers=("@security-team", "U0APPROVER"),
    )
    with caplog.at_level(logging.WARNING, logger="bot.slack.roles"):
        assert not roles.is_viewer("U0ALICE")
        assert not roles.is_operator("U0ALICE")
        assert not roles.is_approver("U0ALICE")
        assert roles.members(["@security-team"]) == frozenset()
        assert roles.is_approver("U0APPROVER")
    assert len([r for r in caplog.records if "no Slack client" in r.getMessage()]) == 1
    clock.now += 300
    with caplog.at_level(logging.WARNING, logger="bot.slack.roles"):
        assert not roles.is_viewer("U0ALICE")
    assert len([r for r in caplog.records if "no Slack client" in r.getMessage()]) == 2


# --- per-action approvers ---------------------------------------------------------------------------------


def test_per_action_approvers(slack: UsergroupsSlack, clock: Clock) -> None:
    policies = {action: ApprovalPolicy(approvers=("U0APPROVER",)) for action in APPROVAL_ACTIONS}
    policies["end-connection"] = ApprovalPolicy(approvers=("@network-team",))
    policies["trust"] = ApprovalPolicy(approvers=("@security-team", "U0DAVE"), min_approvals=2)
    roles = make_roles(slack, clock, policies=policies)
    assert roles.is_approver("U0CAROL", "end-connection") and not roles.is_approver("U0CAROL", "trust")
    assert roles.is_approver("U0ALICE", "trust") and roles.is_approver("U0DAVE", "trust")
    assert not roles.is_approver("U0APPROVER", "trust") and not roles.is_approver("U0APPROVER", "end-connection")
    assert roles.is_approver("U0APPROVER", "smtp-add")
    assert roles.is_approver("U0APPROVER")  # no action: [roles].approvers
    assert not roles.is_approver("U0CAROL")
    assert roles.members(roles.approver_entries("trust")) == {"U0ALICE", "U0BOB", "U0DAVE"}
    assert all(roles.is_operator(user) for user in ("U0CAROL", "U0ALICE", "U0DAVE", "U0APPROVER", "U0OPER"))


def test_an_action_without_a_policy_falls_back_to_roles_approvers(clock: Clock) -> None:
    roles = make_roles(None, clock, policies={"trust": ApprovalPolicy(approvers=("U0TRUSTEE",))})
    assert roles.is_approver("U0APPROVER", "untrust") and not roles.is_approver("U0TRUSTEE", "untrust")
    with pytest.raises(KeyError):
        roles.is_approver("U0APPROVER", "format-disk")


def test_roles_from_a_loaded_config(tmp_path, slack: UsergroupsSlack, clock: Clock) -> None:
    from bot.config import load_config

    path = tmp_path / "warden.toml"
    path.write_text(
        '[slack]\nalerts_channel = "C0A"\napprovals_channel = "C0B"\n'
        '[roles]\noperators = ["U0OPER"]\napprovers = ["U0APPROVER"]\n'
        '[approvals.relay-set]\napprovers = ["@security-team"]\nmin_approvals = 2\n'
        '[[systems]]\nname = "DEMO"\nconnection = "demo"\n',
        encoding="utf-8",
    )
    config = load_config(path, env={})
    roles = Roles(config.roles, config.approvals, client_for(slack), clock=clock)
    assert roles.is_approver("U0BOB", "relay-set") and not roles.is_approver("U0APPROVER", "relay-set")
    assert roles.is_approver("U0APPROVER", "smtp-remove") and not roles.is_approver("U0BOB", "smtp-remove")
