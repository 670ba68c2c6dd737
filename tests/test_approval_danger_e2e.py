"""The danger policy, the full approval message and the tamper checks, driven through the running bot with signed
requests against the Slack test server and the demo IBM i."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from bot.ibmi.drivers.demo.store import add_connection, demo_relay_policy, open_libraries
from storage import approvals as store
from storage import audit
from tests.slack_server import SlackTestServer
from tests.test_approvals_e2e import APPROVALS, APPROVER, OPERATOR, SECOND, Bot, remotes
from tests.test_audit import attacker


@pytest.fixture
def slack():
    with SlackTestServer(scopes="chat:write,commands,usergroups:read") as server:
        yield server


@pytest.fixture
def bot(slack, tmp_path):
    bot = Bot(slack, tmp_path)
    yield bot
    bot.stop()


def answer(bot: Bot, slack: SlackTestServer, text: str, user: str = OPERATOR) -> str:
    """What the bot answers a command: at once (a usage error) or through the response URL."""
    count = len(slack.responses())
    status, body = bot.command(text, user=user)
    assert status == 200
    if "Preparing" not in body.get("text", "") and "Reading" not in body.get("text", ""):
        return body["text"]
    return slack.wait_for_response(count=count + 1, timeout=15)[-1].body["text"]


def refusals(bot: Bot) -> list[str]:
    return [e.outcome for e in audit.recent(bot.storage, 1000) if e.action == "refused"]


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def add_demo_connections(bot: Bot, rows: list[tuple[str, int, int, str]]) -> None:
    """(remote address, remote port, local port, user) rows added to the demo system's NETSTAT."""
    remotes(bot)  # the demo system exists once it has answered
    db = open_libraries(bot.parts.config.systems[0].demo.path)
    try:
        for address, port, local_port, user in rows:
            add_connection(db, address, port, local_port, "telnet", 1.0, 10, 10, user, "QPADEV0099")
    finally:
        db.close()


# --- the relay opened one /1 at a time, reject-all -------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["smtp add accept 0.0.0.0 /1 first half", "smtp add accept 128.0.0.0 /1 second half"],
)
def test_half_the_internet_as_an_accept_entry_is_refused(bot, slack, text):
    reply = answer(bot, slack, text)
    assert reply.startswith("Refused:") and "2,147,483,648 addresses relay mail" in reply and "Nothing was" in reply
    assert store.pending(bot.storage) == []
    assert any("smtp_accept_max_prefix" in r for r in refusals(bot))


def test_reject_all_is_refused(bot, slack):
    reply = answer(bot, slack, "smtp add reject 0.0.0.0 0.0.0.0 no mail at all")
    assert "refuses mail from every address" in reply and store.pending(bot.storage) == []


def test_a_24_accept_entry_is_requested_approved_and_run(bot, slack):
    reply = answer(bot, slack, "smtp add accept 10.2.2.0/24 branch office")
    assert "waiting for approval" in reply and "Dangerous" not in reply
    request_id, message = bot.request_message()
    text = shown(message)
    assert "relay for 256 addresses" in text and "ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.2.2.0')" in text
    assert "Run 1 CL command on DEMO?" in text
    bot.click(message, "request_approve", APPROVER)
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"


# --- trust that blinds the bot -----------------------------------------------------------------------


@pytest.mark.parametrize("network", ["0.0.0.0/0", "::/0", "8.0.0.0/7"])
def test_trusting_everything_is_refused(bot, slack, network):
    reply = answer(bot, slack, f"trust {network} everyone is a friend")
    assert reply.startswith("Refused:") and "would stop alerts" in reply
    assert store.pending(bot.storage) == []


def test_a_16_trust_says_it_changes_nothing_on_ibm_i_and_runs(bot, slack):
    answer(bot, slack, "trust 172.16.0.0/16 partner network")
    request_id, message = bot.request_message()
    text = shown(message)
    assert "Change the trust list?" in text and "Run this on IBM i?" not in text
    assert "Changes nothing on IBM i: 65,536 addresses no longer alerted" in text
    assert "No CL runs on IBM i" in text
    bot.click(message, "request_approve", APPROVER)
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    assert "172.16.0.0/16" in store.trusted_networks(bot.storage, "DEMO")


# --- the message cut at 2,900 characters; no cap -------------------------------------------------


def test_sixty_connections_are_refused_with_how_to_narrow_and_twenty_are_shown_in_full(bot, slack):
    rows = [("203.0.113.50", 30000 + i, 23, "GUEST") for i in range(40)]
    rows += [("203.0.113.50", 31000 + i, 8471, "GUEST") for i in range(20)]
    add_demo_connections(bot, rows)
    reply = answer(bot, slack, "end 203.0.113.50 flood")
    assert "60 connections" in reply and "more than the 50" in reply
    assert "By local port: 23: 40, 8471: 20" in reply and "end 203.0.113.50 PORT" in reply and "--local" in reply
    assert store.pending(bot.storage) == []
    answer(bot, slack, "end 203.0.113.50 8471 flood on the database port")
    request_id, message = bot.request_message()
    text = shown(message)
    commands = store.get(bot.storage, request_id).commands
    assert len(commands) == 20 and all(command in text for command in commands)
    assert "20 CL commands, each shown in full" in text and len(message["blocks"]) <= 50


def test_an_end_of_three_connections_lists_each_job_and_user_and_runs(bot, slack):
    add_demo_connections(bot, [("203.0.113.60", 41000 + i, 23, "GUEST") for i in range(3)])
    answer(bot, slack, "end 203.0.113.60 three stale sessions")
    request_id, message = bot.request_message()
    text = shown(message)
    assert "3 CL commands" in text and text.count("user GUEST") == 3
    bot.click(message, "request_approve", APPROVER)
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    assert "203.0.113.60" not in remotes(bot)


# --- the stored CL changed after it was shown ----------------------------------------------------


def tamper(bot: Bot, request_id: str, commands: list[str], digest: bool = False, **columns: Any) -> None:
    sets = {"commands_json": json.dumps(commands), **columns}
    if digest:  # a careful attacker recomputes the digest too
        text = "\n".join(["DEMO", "relay-set", *commands])
        sets["cl_digest"] = hashlib.sha256(text.encode()).hexdigest()
    assignments = ", ".join(f"{name} = ?" for name in sets)
    with bot.storage.lock:  # someone with the file in hand: the triggers guarding requests are dropped first
        attacker(bot.storage, (f"UPDATE change_requests SET {assignments} WHERE id = ?", [*sets.values(), request_id]))


@pytest.mark.parametrize("recompute_digest", [False, True])
def test_a_stored_command_changed_after_it_was_shown_never_runs(bot, slack, recompute_digest):
    answer(bot, slack, "relay set list close the open relay")
    request_id, message = bot.request_message()
    tamper(bot, request_id, ["QSYS/CHGSMTPA ALWRLY(*NONE)"], digest=recompute_digest)
    count = len(slack.responses())
    bot.click(message, "request_approve", APPROVER)
    reply = slack.wait_for_response(count=count + 1, timeout=10)[-1].body["text"]
    assert "tampered" in reply and "Nothing ran" in reply
    request = store.get(bot.storage, request_id)
    assert request.state == "failed" and request.outcome["tampered"] is True
    remotes(bot)  # the demo system exists once it has answered
    assert bot.executions() == 0 and demo_relay_policy(bot.parts.config.systems[0].demo.path) == "*ALL"
    assert any("tampered" in r for r in refusals(bot))
    bot.deliver()
    assert "tampered" in json.dumps(slack.message(APPROVALS, message["ts"]))


def test_a_dangerous_request_whose_stored_approvals_were_lowered_does_not_run(bot, slack):
    reply = answer(bot, slack, "relay set all vendor asked for it")
    assert ":red_circle: Dangerous" in reply and "needs 2 approvals" in reply
    request_id, message = bot.request_message()
    tamper(bot, request_id, ["QSYS/CHGSMTPA ALWRLY(*ALL)"], min_approvals=1)
    bot.click(message, "request_approve", APPROVER)
    assert bot.wait_for_state(request_id, ("done", "failed")) == "failed"
    request = store.get(bot.storage, request_id)
    assert request.outcome["tampered"] and "needs 2 approvals and has 1" in request.outcome["text"]
    assert bot.executions() == 0


# --- the stronger policy for dangerous changes --------------------------------------------------------------


def test_an_open_relay_needs_two_approvers_and_says_so_in_red(bot, slack):
    answer(bot, slack, "relay set all vendor asked for it")
    request_id, message = bot.request_message()
    text = shown(message)
    assert ":red_circle: *Dangerous*" in text and "open relay" in text and "Needs 2 approvals" in text
    bot.click(message, "request_approve", APPROVER)
    bot.deliver()
    assert store.get(bot.storage, request_id).state == "pending"
    bot.click(message, "request_approve", SECOND)
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"


# --- loopback, the bot's own connection, QSECOFR --------------------------------------------------


def test_ending_loopback_is_refused(bot, slack):
    reply = answer(bot, slack, "end 127.0.0.1 stop the bot")
    assert "loopback" in reply and store.pending(bot.storage) == []
    assert "127.0.0.1" in remotes(bot)


def test_ending_the_bots_own_connection_is_refused(bot, slack):
    add_demo_connections(bot, [("10.1.9.9", 45000, 8471, "WARDEN")])
    reply = answer(bot, slack, "end 10.1.9.9 odd host server job")
    assert reply.startswith("Refused:") and "the bot's own (user WARDEN)" in reply
    assert store.pending(bot.storage) == []


def test_ending_the_security_officers_session_names_it(bot, slack):
    answer(bot, slack, "end 210.107.73.73 unknown telnet user")
    _, message = bot.request_message()
    text = shown(message)
    assert "user QSECOFR" in text and "security officer" in text and "QPADEV0011" in text
