"""The danger policy by address coverage, the approval message that shows every command, and [approvals.limits]."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from bot.changes import render
from bot.changes.danger import SystemFacts, assess, covered
from bot.config import ApprovalLimits
from bot.ibmi.cl import AddSmtpListEntry, ChangeSmtpRelay, EndTcpConnection, RemoveSmtpListEntry
from bot.ibmi.rows import ConnectionJob
from storage.approvals import ChangeRequest
from tests.test_config import DEMO_SYSTEM, ROLES, single_problem, with_system

LIMITS = ApprovalLimits()
N = ipaddress.ip_network
EMPTY_LISTS = SystemFacts(accept=(), reject=())


def accept(address: str, mask: str) -> AddSmtpListEntry:
    return AddSmtpListEntry.build("*ACCEPT", address, mask)


def reject(address: str, mask: str) -> AddSmtpListEntry:
    return AddSmtpListEntry.build("*REJECT", address, mask)


def test_coverage_merges_overlapping_and_adjacent_networks():
    assert covered([N("0.0.0.0/1"), N("128.0.0.0/1")]) == 1 << 32
    assert covered([N("10.0.0.0/8"), N("10.1.0.0/16")]) == 1 << 24
    assert covered([]) == 0


@pytest.mark.parametrize("address", ["0.0.0.0", "128.0.0.0"])
def test_each_half_of_the_internet_as_an_accept_entry_is_refused(address):
    verdict = assess("smtp-add", [accept(address, "/1")], None, EMPTY_LISTS, LIMITS)
    assert verdict.refusal and "2,147,483,648 addresses relay mail" in verdict.refusal and "/16" in verdict.refusal


def test_the_accept_list_is_judged_as_a_whole():
    half = SystemFacts(accept=(N("0.0.0.0/1"),), reject=())
    verdict = assess("smtp-add", [accept("128.1.0.0", "/16")], None, half, LIMITS)
    assert verdict.refusal and "2,147,549,184 addresses relay mail" in verdict.refusal
    near_limit = SystemFacts(accept=(N("10.1.1.0/24"),), reject=())
    verdict = assess("smtp-add", [accept("10.2.0.0", "/16")], None, near_limit, LIMITS)
    assert verdict.refusal is None and verdict.dangerous and "65,792" in (verdict.danger or "")


def test_a_24_accept_entry_is_safe_and_says_how_many_addresses_relay():
    verdict = assess("smtp-add", [accept("10.2.2.0", "/24")], None, EMPTY_LISTS, LIMITS)
    assert verdict.refusal is None and not verdict.dangerous
    assert "relay for 256 addresses" in verdict.effects[0]
    already_open = SystemFacts(accept=(N("0.0.0.0/0"),), reject=())
    verdict = assess("smtp-add", [accept("10.2.2.0", "/24")], None, already_open, LIMITS)
    assert verdict.refusal is None and not verdict.dangerous and "0 addresses not already" in verdict.effects[1]


def test_reject_all_is_refused_alone_and_in_halves():
    assert "every address" in (
        assess("smtp-add", [reject("0.0.0.0", "0.0.0.0")], None, EMPTY_LISTS, LIMITS).refusal or ""
    )
    half = SystemFacts(accept=(), reject=(N("0.0.0.0/1"),))
    assert "every IPv4 address" in (assess("smtp-add", [reject("128.0.0.0", "/1")], None, half, LIMITS).refusal or "")


def test_removing_an_entry_is_described_and_never_dangerous():
    verdict = assess(
        "smtp-remove", [RemoveSmtpListEntry.build("*ACCEPT", "0.0.0.0", "0.0.0.0")], None, SystemFacts(), LIMITS
    )
    assert not verdict.dangerous and verdict.refusal is None and "may no longer relay" in verdict.effects[0]


def test_an_open_relay_is_dangerous():
    verdict = assess("relay-set", [ChangeSmtpRelay.build("all")], None, SystemFacts(), LIMITS)
    assert verdict.dangerous and "open relay" in (verdict.danger or "")
    assert not assess("relay-set", [ChangeSmtpRelay.build("list")], None, SystemFacts(), LIMITS).dangerous


@pytest.mark.parametrize("network", ["0.0.0.0/0", "::/0", "8.0.0.0/7", "2001::/31"])
def test_broad_trust_is_refused(network):
    verdict = assess("trust", [], N(network), SystemFacts(), LIMITS)
    assert verdict.refusal and "would stop alerts" in verdict.refusal


def test_trust_says_it_changes_nothing_on_ibm_i_and_counts_new_addresses():
    verdict = assess("trust", [], N("172.16.0.0/16"), SystemFacts(trusted=(N("10.0.0.0/8"),)), LIMITS)
    assert verdict.refusal is None and not verdict.dangerous
    assert verdict.effects[0].startswith("Changes nothing on IBM i: 65,536 addresses no longer alerted")
    wide = assess("trust", [], N("172.0.0.0/12"), SystemFacts(), LIMITS)
    assert wide.dangerous and "1,048,576" in (wide.danger or "")
    inside = assess("trust", [], N("10.16.0.0/12"), SystemFacts(trusted=(N("10.0.0.0/8"),)), LIMITS)
    assert not inside.dangerous and "0 addresses no longer alerted" in inside.effects[0]


def end(remote: str, remote_port: int = 40000, local: str = "10.1.1.5", local_port: int = 23) -> EndTcpConnection:
    return EndTcpConnection.build(local, local_port, remote, remote_port)


def job(remote: str, user: str, remote_port: int = 40000, local_port: int = 23) -> ConnectionJob:
    return ConnectionJob("IPV4", remote, remote_port, "10.1.1.5", local_port, user, f"123456/{user}/QPADEV0001")


def test_ending_names_job_and_user_and_flags_the_security_officer():
    facts = SystemFacts(jobs=(job("203.0.113.7", "QSECOFR"),), bot_profile="WARDEN")
    verdict = assess("end-connection", [end("203.0.113.7"), end("203.0.113.7", 40001)], None, facts, LIMITS)
    assert verdict.refusal is None
    assert "user QSECOFR — the security officer's session" in verdict.effects[1]
    assert "unconfirmed (no NETSTAT_JOB_INFO row)" in verdict.effects[2]


def test_ending_the_bots_own_or_a_loopback_connection_is_refused():
    facts = SystemFacts(jobs=(job("203.0.113.7", "WARDEN", local_port=8471),), bot_profile="WARDEN")
    verdict = assess("end-connection", [end("203.0.113.7", local_port=8471)], None, facts, LIMITS)
    assert "the bot's own (user WARDEN)" in (verdict.refusal or "")
    loopback = assess("end-connection", [end("127.0.0.1", local="127.0.0.1")], None, SystemFacts(jobs=()), LIMITS)
    assert "loopback" in (loopback.refusal or "")


def test_too_many_commands_and_the_wrong_kind_are_refused():
    many = [end("203.0.113.7", 30000 + i) for i in range(51)]
    assert "more than the 50" in (assess("end-connection", many, None, SystemFacts(), LIMITS).refusal or "")
    relay = ChangeSmtpRelay.build("none")
    assert "not what a end-connection" in (assess("end-connection", [relay], None, SystemFacts(), LIMITS).refusal or "")


def request(commands: list[str], action: str = "end-connection", **params: object) -> ChangeRequest:
    return ChangeRequest(
        id="R000000000001",
        system="DEMO",
        action=action,
        params={"effects": ["line one"], "danger": None, **params},
        commands=tuple(commands),
        summary="End 60 connections",
        requester="U01OPERATOR",
        reason="x",
        created_at=0.0,
        expires_at=3600.0,
        min_approvals=1,
        cl_digest="ab" * 32,
    )


def test_the_message_shows_every_command_in_full_and_the_count():
    commands = [end("203.0.113.7", 30000 + i).to_cl() for i in range(60)]
    message = request(commands)
    blocks = render.request_blocks(message)
    assert render.fits(message) and len(blocks) <= 50
    shown = "".join(json.dumps(block.to_dict()) for block in blocks)
    assert all(command in shown for command in commands)
    assert "60 CL commands, each shown in full" in shown
    for block in blocks:
        text = block.to_dict().get("text", {})
        assert len(text.get("text", "")) <= 3000 if isinstance(text, dict) else True


def test_a_request_that_cannot_be_shown_in_one_message_does_not_fit():
    commands = [end("2001:db8::" + format(i, "x"), 30000 + i, local="2001:db8::1").to_cl() for i in range(1500)]
    assert not render.fits(request(commands))


def test_trust_confirm_says_nothing_runs_on_ibm_i():
    trust = request([], action="trust", network="172.16.0.0/16")
    trust = ChangeRequest(**{**trust.__dict__, "params": {**trust.params, "effects": ["Changes nothing on IBM i: x"]}})
    message = json.dumps(render.request_message(trust))
    assert "Change the trust list?" in message and "Changes nothing on IBM i" in message
    assert "Run this on IBM i?" not in message
    danger = ChangeRequest(**{**trust.__dict__, "params": {**trust.params, "danger": "too broad"}})
    assert ":red_circle: *Dangerous*" in json.dumps(render.request_message(danger))


def test_limits_are_read_from_approvals_limits(tmp_path: Path):
    from bot.config import load_config
    from tests.test_config import write

    text = with_system(DEMO_SYSTEM + ROLES) + "[approvals.limits]\nmax_commands = 20\ndangerous_min_approvals = 3\n"
    config = load_config(write(tmp_path, text))
    assert config.approval_limits == ApprovalLimits(max_commands=20, dangerous_min_approvals=3)
    bad = with_system(DEMO_SYSTEM + ROLES) + "[approvals.limits]\ntrust_max_prefix_ipv4 = 0\n"
    assert "approvals.limits.trust_max_prefix_ipv4: 0 is out of range" in single_problem(tmp_path, bad)


def test_the_home_view_shows_large_requests_in_full_or_not_at_all():
    from bot.slack.home_view import home_view

    big = request([end("203.0.113.7", 30000 + i).to_cl() for i in range(100)])  # max_commands may be 200
    effects = [f"• 203.0.113.7:{30000 + i} → 10.1.1.5:23: job 123456/GUEST/QPADEV0001, user GUEST" for i in range(100)]
    big = ChangeRequest(**{**big.__dict__, "params": {**big.params, "effects": effects}})
    view = home_view([], [], [], [big] * 10, lambda r: True)  # validates Slack's 100-block limit
    assert len(view["blocks"]) <= 100
    shown = json.dumps(view["blocks"])
    assert shown.count(big.commands[-1]) == shown.count(big.commands[0]) >= 1
