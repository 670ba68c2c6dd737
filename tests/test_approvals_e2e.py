"""Remediation end to end over HTTP, signed as Slack signs: /ibmi requests a change, the approval message
appears in the approvals channel, an approver's click runs the exact CL on the demo IBM i once."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest

from bot.config import DemoSettings, Secrets, load_config
from bot.ibmi import sql
from bot.runtime import Runner
from bot.wiring import build_app, build_bot
from storage import approvals as store
from storage import audit
from storage.audit_verify import verify
from tests.slack_server import SlackTestServer, find_action, interactive_form, sign_request
from tests.test_alerts_e2e import OfflineTracer, deliver_all
from tests.test_cli import write_config

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVALS = "C0456APPROV"
OPERATOR, APPROVER, SECOND, STRANGER = "U01OPERATOR", "U02APPROVER", "U03APPROVER", "U09STRANGER"


class Clock:
    def __init__(self) -> None:
        self.time = time.time()

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


class Bot:
    def __init__(
        self,
        slack: SlackTestServer,
        folder,
        min_approvals: int = 1,
        approvers: tuple[str, ...] = (APPROVER, SECOND),
        text_changes: dict[str, str] | None = None,
    ):
        listed = ", ".join(f'"{approver}"' for approver in approvers)
        text_changes = {'approvers = ["U02APPROVER"]': f"approvers = [{listed}]", **(text_changes or {})}
        config = load_config(write_config(folder, **text_changes))
        system = config.systems[0]
        config = replace(
            config,
            storage=replace(config.storage, path=folder / "warden.db"),
            systems=(replace(system, demo=replace(system.demo or DemoSettings(), path=folder / "demo")),),
        )
        if min_approvals > 1:
            config = replace(
                config,
                approvals={
                    action: replace(policy, min_approvals=min_approvals) for action, policy in config.approvals.items()
                },
            )
        self.clock = Clock()
        self.slack = slack
        self.parts = build_bot(
            config,
            Secrets(slack_bot_token=slack.bot_token, slack_api_url=slack.base_url),
            clock=self.clock,
            tracer=OfflineTracer(),
        )
        secrets = Secrets(slack_bot_token=slack.bot_token, slack_signing_secret=SECRET, slack_api_url=slack.base_url)
        self.app = build_app(self.parts, secrets, http=True)
        self.runner = Runner(
            self.app, self.parts, http_port=0, http_host="127.0.0.1", schedule_checks=False, deliver=False
        )
        self.runner.start()
        self.url = f"http://127.0.0.1:{self.runner.http_port}/slack/events"
        self.storage = self.parts.storage

    def stop(self) -> None:
        self.runner.stop()
        self.parts.close()

    def post(self, body: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        headers = headers if headers is not None else sign_request(body, SECRET)
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        return status, json.loads(raw) if raw.strip().startswith(b"{") else {}

    def command(self, text: str, user: str = OPERATOR) -> tuple[int, dict[str, Any]]:
        return self.post(self.slack.slash_command_form(text, user_id=user))

    def click(
        self,
        message: dict[str, Any],
        action_id: str,
        user: str,
        headers: dict[str, str] | None = None,
        value: str | None = None,
        block_id: str | None = None,
    ) -> int:
        block, element = find_action(message["blocks"], action_id, None)
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T0WARDEN"},
            "api_app_id": "A0WARDEN",
            "trigger_id": f"{time.time()}.trigger",
            "response_url": self.slack.new_response_url(),
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": APPROVALS},
            "channel": {"id": APPROVALS},
            "message": message,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id or block["block_id"],
                    "type": "button",
                    "value": value or element["value"],
                    "action_ts": str(time.time()),
                }
            ],
        }
        body = interactive_form(payload)
        return self.post(body, headers)[0]

    def deliver(self) -> None:
        deliver_all(self.parts, self.clock)

    def wait_for_state(self, request_id: str, states: tuple[str, ...], timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = store.get(self.storage, request_id)
            if request and request.state in states:
                return request.state
            time.sleep(0.05)
        raise AssertionError(f"{request_id} did not reach {states}")

    def request_message(self) -> tuple[str, dict[str, Any]]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pending = store.pending(self.storage)
            if pending:
                self.deliver()
                request_id = pending[-1].id
                for message in self.slack.messages(APPROVALS):
                    if request_id in json.dumps(message.get("blocks", [])):
                        return request_id, message
            time.sleep(0.05)
        raise AssertionError("no change request was posted")

    def open_home(self, user: str) -> dict[str, Any]:
        """The Home tab as `user` sees it once they open it."""
        count = len(self.slack.calls_to("views.publish"))
        event = {
            "token": "x",
            "team_id": "T0WARDEN",
            "api_app_id": "A0WARDEN",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME",
                "tab": "home",
                "event_ts": str(time.time()),
            },
        }
        body = json.dumps(event)
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/json", **sign_request(body, SECRET)},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        call = self.slack.wait_for("views.publish", count=count + 1, timeout=10)[-1]
        assert call.params["user_id"] == user
        view = call.params["view"]
        return json.loads(view) if isinstance(view, str) else view

    def executions(self) -> int:
        return [e.action for e in audit.recent(self.storage, 1000)].count("execute")


@pytest.fixture
def slack():
    with SlackTestServer(scopes="chat:write,commands,usergroups:read") as server:
        yield server


@pytest.fixture
def bot(slack, tmp_path):
    bot = Bot(slack, tmp_path)
    yield bot
    bot.stop()


def assert_only_the_next_request_is_filed(bot: Bot) -> None:
    """A refused command filed nothing: a valid command sent after it is filed, and is the only request."""
    bot.command("relay set near the next request")
    request_id, _ = bot.request_message()
    assert [request.id for request in store.pending(bot.storage)] == [request_id]


def remotes(bot: Bot) -> set[str]:
    return {r.remote_address for r in sql.read_tcp_connections(bot.parts.systems.connection("DEMO"))}


def test_end_request_is_approved_by_another_person_and_runs_the_exact_cl_once(bot, slack):
    status, body = bot.command("end 210.107.73.73 unknown telnet user")
    assert status == 200 and "Preparing the change request" in body["text"]
    request_id, message = bot.request_message()
    shown = json.dumps(message["blocks"])
    assert "ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('10.1.1.5') LCLPORT(23) RMTINTNETA('210.107.73.73')" in shown
    assert "210.107.73.73" in remotes(bot)
    assert bot.click(message, "request_approve", APPROVER) == 200
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    assert "210.107.73.73" not in remotes(bot)
    bot.deliver()
    edited = slack.message(APPROVALS, message["ts"])
    assert "Done" in json.dumps(edited) and "request_approve" not in json.dumps(edited)
    assert any(f"<@{OPERATOR}>" in r["text"] and "done" in r["text"] for r in slack.replies(APPROVALS, message["ts"]))
    assert bot.executions() == 1


def test_forged_and_stale_clicks_get_401_and_run_nothing(bot):
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    payload_body = "payload=%7B%7D"
    assert bot.post(payload_body, sign_request(payload_body, "wrong-secret"))[0] == 401
    forged = sign_request("x", SECRET)
    assert bot.click(message, "request_approve", APPROVER, headers=forged) == 401
    stale = sign_request("unused", SECRET, timestamp=int(time.time()) - 6 * 60)
    assert bot.click(message, "request_approve", APPROVER, headers=stale) == 401  # refused before any listener
    assert store.get(bot.storage, request_id).state == "pending" and bot.executions() == 0


def test_clicks_that_must_be_refused_run_nothing(bot, slack):
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()

    def refusal(user: str, **kwargs: Any) -> str:
        count = len(slack.responses())
        assert bot.click(message, "request_approve", user, **kwargs) == 200
        return slack.wait_for_response(count=count + 1, timeout=10)[-1].body["text"]

    assert "another approver" in refusal(OPERATOR) or "Only approvers" in refusal(OPERATOR)
    assert "Only approvers" in refusal(STRANGER)
    assert "does not exist" in refusal(APPROVER, value="Rmissing0000")
    assert "does not belong" in refusal(APPROVER, block_id=f"request:OTHER:{request_id}")
    assert store.get(bot.storage, request_id).state == "pending" and bot.executions() == 0
    bot.clock.advance(3601)  # past the request's ttl
    assert "expired" in refusal(APPROVER)
    bot.deliver()
    assert "Expired" in json.dumps(slack.message(APPROVALS, message["ts"]))
    assert bot.executions() == 0


def test_a_decided_request_cannot_be_decided_again(bot, slack):
    before = len(slack.responses())
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    slack.wait_for_response(count=before + 1, timeout=10)  # the requester's own answer, which may come later
    count = len(slack.responses())
    bot.click(message, "request_approve", APPROVER)
    bot.wait_for_state(request_id, ("done", "failed"))
    slack.wait_for_response(count=count + 1, timeout=10)  # the first approver's answer, which may come after "done"
    bot.click(message, "request_approve", SECOND)
    assert "already" in slack.wait_for_response(count=count + 2, timeout=10)[-1].body["text"]
    assert bot.executions() == 1


def test_the_requester_cannot_approve_their_own_request(bot, slack):
    before = len(slack.responses())
    bot.command("relay set near route only our domains", user=APPROVER)
    request_id, message = bot.request_message()
    slack.wait_for_response(count=before + 1, timeout=10)  # the requester's own answer, which may come later
    count = len(slack.responses())
    bot.click(message, "request_approve", APPROVER)
    assert "another approver" in slack.wait_for_response(count=count + 1, timeout=10)[-1].body["text"]
    assert store.get(bot.storage, request_id).state == "pending"


def test_fifty_concurrent_approve_clicks_run_the_command_once(bot, slack):
    bot.command("end 210.107.73.73 unknown telnet user")
    request_id, message = bot.request_message()
    slack.wait_for_response(count=1, timeout=10)  # the requester's own answer
    count = len(slack.responses())
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda i: bot.click(message, "request_approve", (APPROVER, SECOND)[i % 2]), range(50)))
    assert statuses == [200] * 50
    assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    slack.wait_for_response(count=count + 50, timeout=30)  # every click answered: none still on its way
    assert bot.executions() == 1


def test_two_approvals_needed_and_the_same_approver_counts_once(slack, tmp_path):
    bot = Bot(slack, tmp_path, min_approvals=2)
    try:
        bot.command("relay set list close the open relay")
        request_id, message = bot.request_message()
        slack.wait_for_response(count=1, timeout=10)  # the requester's own answer
        count = len(slack.responses())
        for _ in range(3):
            bot.click(message, "request_approve", APPROVER)
        slack.wait_for_response(count=count + 3, timeout=10)  # each click answered, so each was counted
        assert store.get(bot.storage, request_id).approvals == (APPROVER,)
        assert store.get(bot.storage, request_id).state == "pending"
        bot.click(message, "request_approve", SECOND)
        assert bot.wait_for_state(request_id, ("done", "failed")) == "done"
    finally:
        bot.stop()


@pytest.mark.parametrize(
    "text",
    [
        "end 210.107.73.73' RMTPORT(*) 23",
        "smtp add accept 10.1.1.0) DLTLIB(QGPL 255.255.255.0 reason",
        "smtp add accept 10.1.1.0 255.255.255.0+ reason",
        "relay set list\nCHGSMTPA ALWRLY(*ALL)",
        "smtp remove reject １０.1.1.0 255.255.255.0 reason",
        "trust 10.0.0.0/8' because",
        "end " + "1" * 5000,
        "relay set all) CHGSMTPA ALWRLY(*ALL)",
    ],
)
def test_injection_attempts_get_a_clear_error_and_no_request(bot, text):
    status, body = bot.command(text)
    assert status == 200 and body["response_type"] == "ephemeral"
    assert "Usage" in body["text"] or "expected" in body["text"]
    assert_only_the_next_request_is_filed(bot)


def test_a_stranger_cannot_request_changes(bot):
    status, body = bot.command("relay set list close it", user=STRANGER)
    assert "Only viewers may use /ibmi" in body["text"]  # [roles] viewers is empty: operators and approvers only
    assert_only_the_next_request_is_filed(bot)


def test_a_crash_while_executing_is_unknown_after_restart_and_not_rerun(slack, tmp_path):
    bot = Bot(slack, tmp_path)
    bot.command("end 210.107.73.73 unknown telnet user")
    request_id, _ = bot.request_message()
    store.add_approval(bot.storage, request_id, APPROVER, bot.clock.now())
    assert store.claim_execution(bot.storage, request_id, bot.clock.now())  # …and the process dies here
    bot.stop()
    restarted = Bot(slack, tmp_path)
    try:
        assert store.get(restarted.storage, request_id).state == "unknown"
        restarted.deliver()
        assert any("verify" in m.get("text", "") for m in slack.messages(APPROVALS))
        assert "210.107.73.73" in remotes(restarted)  # never run
        assert restarted.executions() == 0
    finally:
        restarted.stop()


def test_silence_approvals_and_audit_commands(bot):
    bot.command("relay set list close the open relay")
    request_id, _ = bot.request_message()
    _, body = bot.command("approvals")
    assert request_id in body["text"]
    _, body = bot.command("silence 210.107.73.73 4h vendor test")
    assert "Silenced 210.107.73.73" in body["text"]
    _, body = bot.command("silence 210.107.73.73 4h vendor test", user=STRANGER)
    assert "Only viewers may use /ibmi" in body["text"]
    _, body = bot.command("audit 5")
    assert "silence" in body["text"] and "request" in body["text"]
    assert verify(bot.storage).ok


def view_submission(bot: Bot, view: dict[str, Any], user: str, values: dict[str, Any]) -> tuple[int, dict]:
    payload = {
        "type": "view_submission",
        "user": {"id": user},
        "team": {"id": "T0WARDEN"},
        "api_app_id": "A0WARDEN",
        "view": {**view, "id": "V0FORM", "state": {"values": values}},
    }
    return bot.post(interactive_form(payload))


def text_input(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def test_smtp_add_form_validates_inline_then_requests(bot, slack):
    status, _ = bot.command("smtp add")
    assert status == 200
    [opened] = slack.wait_for("views.open", timeout=10)
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    accept = {"value": {"type": "static_select", "selected_option": {"value": "*ACCEPT"}}}
    status, body = view_submission(
        bot,
        view,
        OPERATOR,
        {"type": accept, "address": text_input("10.1.1.0'"), "mask": text_input(""), "reason": text_input("branch")},
    )
    assert status == 200 and body["response_action"] == "errors" and "INTNETADR" in body["errors"]["address"]
    status, body = view_submission(
        bot,
        view,
        OPERATOR,
        {
            "type": accept,
            "address": text_input("10.1.1.0"),
            "mask": text_input("255.255.255.0"),
            "reason": text_input("branch office"),
        },
    )
    assert status == 200 and not body
    request_id, message = bot.request_message()
    assert "ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')" in json.dumps(message)


def test_reject_asks_for_a_reason_and_ends_the_request(bot, slack):
    bot.command("relay set list close the open relay")
    request_id, message = bot.request_message()
    assert bot.click(message, "request_reject", APPROVER) == 200
    [opened] = slack.wait_for("views.open", timeout=10)
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    view_submission(bot, view, APPROVER, {"reason": text_input("not today")})
    assert bot.wait_for_state(request_id, ("rejected",)) == "rejected"
    assert store.get(bot.storage, request_id).rejection_reason == "not today"
    bot.deliver()
    assert "Rejected" in json.dumps(slack.message(APPROVALS, message["ts"]))
    assert bot.executions() == 0


def test_trace_and_smtp_list_answer_through_response_url(bot, slack):
    bot.command("trace 10.1.2.3")
    bot.command("smtp list accept")
    answers = [r.body["text"] for r in slack.wait_for_response(count=2, timeout=15)]
    assert any("10.1.2.3*: Private-Use network (RFC 1918): not looked up" in a for a in answers)
    assert any("`0.0.0.0` mask `0.0.0.0` (member ACCEPT)" in a for a in answers)


def test_the_home_tab_shows_approval_buttons_only_to_approvers(bot, slack):
    bot.command("relay set list close the open relay")
    request_id, _ = bot.request_message()

    approver_view = json.dumps(bot.open_home(APPROVER))
    assert request_id in approver_view and "request_approve" in approver_view
    operator_view = json.dumps(bot.open_home(OPERATOR))  # the requester, not an approver
    assert "request_approve" not in operator_view and "DEMO" in operator_view
