"""The alert lifecycle end to end: demo IBM i → checks → alerts → outbox → the Slack test server.

Time is a fake clock; the delivery worker is driven pass by pass instead of by its thread.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Config, DemoSettings, Route, Secrets, load_config
from bot.ibmi.cl import EndTcpConnection
from bot.ibmi.errors import ConnectionFailedError
from bot.wiring import Bot, build_bot
from tests.slack_server import SlackTestServer
from tests.test_cli import write_config
from tests.thread_states import wait_until

ALERTS = "C0123ALERTS"
URGENT = "C0URGENT"


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0):
        self.time = start

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


class OfflineTracer:
    """Owner tracing is covered by tests/test_trace.py; here it only has to never reach the network."""

    def trace(self, address: str):  # noqa: ANN201
        """Special-purpose ranges are answered locally, as the real tracer does; anything else needs RDAP."""
        from datetime import UTC, datetime

        from bot.trace import Owner, TraceError, normalise, special_purpose

        reason = special_purpose(normalise(address))
        if reason:
            return Owner(address=address, kind="local", local_reason=reason, looked_up_at=datetime.now(UTC))
        raise TraceError("unavailable", "no network in tests")

    def prune(self) -> int:
        return 0


def make_config(folder: Path, systems: tuple[str, ...] = ("DEMO",), routes: tuple[Route, ...] = ()) -> Config:
    config = load_config(write_config(folder))
    template = config.systems[0]
    configured = tuple(
        replace(template, name=name, demo=replace(template.demo or DemoSettings(), path=folder / f"demo-{name}"))
        for name in systems
    )
    return replace(
        config,
        systems=configured,
        storage=replace(config.storage, path=folder / "warden.db"),
        slack=replace(config.slack, routes=routes),
    )


@pytest.fixture
def slack():
    with SlackTestServer(scopes="chat:write,commands") as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def start(slack: SlackTestServer, folder: Path, clock: FakeClock, **config_changes) -> Bot:
    config = make_config(folder, **config_changes)
    secrets = Secrets(slack_bot_token=slack.bot_token, slack_api_url=slack.base_url)
    return build_bot(config, secrets, clock=clock, tracer=OfflineTracer())


def deliver_all(parts: Bot, clock: FakeClock, limit: int = 500) -> None:
    """Run the worker until nothing is pending, a second of fake time per pass (Slack's pace per channel)."""
    from storage import outbox

    for _ in range(limit):
        parts.delivery.deliver_due()
        if outbox.pending_count(parts.storage) == 0:
            return
        clock.advance(1)
    raise AssertionError("the outbox did not drain")


def cycle(parts: Bot, clock: FakeClock) -> None:
    parts.checks.run_cycle()
    deliver_all(parts, clock)


def top_level(slack: SlackTestServer, channel: str = ALERTS) -> list[dict]:
    return [m for m in slack.messages(channel) if not m.get("thread_ts") or m.get("thread_ts") == m.get("ts")]


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks", [])) + message.get("text", "")


def test_a_demo_cycle_posts_one_grouped_message_per_check_and_a_quiet_second_cycle(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock)
    try:
        cycle(parts, clock)
        messages = top_level(slack)
        headers = sorted(m["blocks"][0]["text"]["text"] for m in messages)
        assert headers == [
            "DEMO · authority-failures",
            "DEMO · changes-behind-the-bot",
            "DEMO · plaintext-services",
            "DEMO · signon-attacks",
            "DEMO · smtp-relay",
            "DEMO · special-authority-grants",
            "DEMO · splctl-exposure",
            "DEMO · unknown-connections",
        ]
        unknown = next(m for m in messages if "unknown-connections" in m["blocks"][0]["text"]["text"])
        assert "210.107.73.73" in text_of(unknown) and "13.64.12.40" in text_of(unknown)
        buttons = [e["text"]["text"] for b in unknown["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert buttons[:4] == ["Trace owner", "Trust…", "End connection…", "Silence 24h"]
        calls = len(slack.calls)
        clock.advance(300)
        cycle(parts, clock)
        assert len(slack.calls) == calls  # nothing changed: not a single Slack call
    finally:
        parts.close()


def test_an_ended_connection_is_resolved_in_its_thread_and_the_parent_edited(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock)
    try:
        cycle(parts, clock)
        unknown = next(m for m in top_level(slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])
        parts.systems.connection("DEMO").run_cl(
            EndTcpConnection.build(
                local_address="10.1.1.5", local_port=23, remote_address="210.107.73.73", remote_port=40411
            )
        )
        clock.advance(300)
        cycle(parts, clock)
        replies = slack.replies(ALERTS, unknown["ts"])
        assert any("Resolved" in r["text"] and "210.107.73.73" in r["text"] for r in replies)
        edited = slack.message(ALERTS, unknown["ts"])
        assert "resolved" in text_of(edited) and "1 open" in edited["text"]
        assert len(slack.calls_to("chat.update")) == 1
    finally:
        parts.close()


def test_a_finding_that_comes_back_is_reopened_in_the_same_thread(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock)
    connection = dict(local_address="10.1.1.5", local_port=23, remote_address="210.107.73.73", remote_port=40411)
    try:
        cycle(parts, clock)
        first_posts = len(top_level(slack))
        parts.systems.connection("DEMO").run_cl(EndTcpConnection.build(**connection))
        clock.advance(300)
        cycle(parts, clock)
        db = parts.systems.connection("DEMO")
        db.query("SELECT 1 FROM QSYS2.NETSTAT_INFO")  # the demo keeps its tables; put the connection back
        import sqlite3

        raw = sqlite3.connect(tmp_path / "demo-DEMO" / "QSYS2.sqlite", isolation_level=None)
        raw.execute(
            "INSERT INTO NETSTAT_INFO VALUES ('IPV4', '210.107.73.73', 40999, NULL, '10.1.1.5', 23, "
            "'telnet', 'TCP', 'ESTABLISHED', 1, 'QUSER', 10, 10)"
        )
        clock.advance(300)
        cycle(parts, clock)
        # The ENDTCPCNN this test ran by hand, not by approval, is a change behind the bot's back: one new message.
        behind = [m for m in top_level(slack) if "changes-behind-the-bot" in m["blocks"][0]["text"]["text"]]
        assert "ENDTCPCNN run by WARDEN outside the bot" in text_of(behind[-1])
        assert len(top_level(slack)) == first_posts + 1  # and no other new message: the old thread is reused
        unknown = next(m for m in top_level(slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])
        assert any("Back again" in r["text"] for r in slack.replies(ALERTS, unknown["ts"]))
    finally:
        parts.close()


def test_a_reminder_after_the_repeat_interval_only(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock)
    try:
        cycle(parts, clock)
        clock.advance(23 * 3600)
        cycle(parts, clock)
        assert not [m for m in slack.messages(ALERTS) if "Still open" in m.get("text", "")]
        clock.advance(3600)
        cycle(parts, clock)
        reminders = [m for m in slack.messages(ALERTS) if "Still open after 24h" in m.get("text", "")]
        assert reminders and all(m.get("thread_ts") for m in reminders)
    finally:
        parts.close()


def test_an_unreachable_system_is_one_alert_and_one_recovery_while_others_are_checked(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock, systems=("DEMO", "OTHER"))
    demo = parts.systems.connection("DEMO")
    working_driver = demo._driver

    class Refusing:
        classify_error = staticmethod(working_driver.classify_error)

        def connect(self, settings):  # noqa: ANN001, ANN202
            raise ConnectionFailedError("DEMO: connecting failed: [08001] Communication link failure")

    try:
        demo._driver = Refusing()
        for _ in range(3):
            cycle(parts, clock)
            clock.advance(300)
        down = [m for m in top_level(slack) if "cannot be reached" in text_of(m)]
        assert len(down) == 1 and "Communication link failure" in text_of(down[0])
        other_runs = parts.storage.db.execute(
            "SELECT COUNT(*) FROM check_runs WHERE system = 'OTHER' AND outcome != 'error'"
        ).fetchone()[0]
        assert other_runs == 3 * 8  # every check, each of the three cycles
        assert any("OTHER · unknown-connections" in text_of(m) for m in top_level(slack))
        demo._driver = working_driver
        cycle(parts, clock)
        assert any("DEMO is reachable again" in r["text"] for r in slack.replies(ALERTS, down[0]["ts"]))
        assert len([m for m in top_level(slack) if "cannot be reached" in text_of(m)]) == 1
    finally:
        parts.close()


def test_routes_send_each_severity_where_it_belongs(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock, routes=(Route(URGENT, "critical"), Route(ALERTS, "info")))
    try:
        cycle(parts, clock)
        urgent = text_of({"blocks": [b for m in top_level(slack, URGENT) for b in m["blocks"]]})
        assert "PAYLIB/PAYROLL" in urgent  # critical
        assert "PRTADMIN" not in urgent and "Cannot determine the SMTP relay policy" not in urgent
        everything = text_of({"blocks": [b for m in top_level(slack) for b in m["blocks"]]})
        assert "PRTADMIN" in everything and "PAYLIB/PAYROLL" in everything
    finally:
        parts.close()


def test_a_silenced_address_is_not_posted(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock)
    try:
        from storage.alerts import add_silence

        add_silence(
            parts.storage, "address", "210.107.73.73", "vendor test", "U0OPERATOR", clock.now(), clock.now() + 3600
        )
        cycle(parts, clock)
        unknown = next(m for m in top_level(slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])
        assert "210.107.73.73" not in text_of(unknown) and "13.64.12.40" in text_of(unknown)
        clock.advance(3700)  # the silence expires by itself
        cycle(parts, clock)
        assert any(
            "210.107.73.73" in text_of(m)
            for m in top_level(slack)
            if "unknown-connections" in m["blocks"][0]["text"]["text"] and m["ts"] != unknown["ts"]
        )
    finally:
        parts.close()


def test_delivery_survives_a_restart_without_losing_or_repeating(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock)
    parts.checks.run_cycle()  # alerts are in the outbox; nothing sent yet
    parts.delivery.deliver_due()  # one message goes out, then the process "stops"
    sent_before = len(slack.calls_to("chat.postMessage"))
    parts.close()
    restarted = start(slack, tmp_path, clock)
    try:
        deliver_all(restarted, clock)
        posts = slack.calls_to("chat.postMessage")
        texts = [c.params.get("text") for c in posts]
        assert sent_before == 1 and len(texts) == len(set(texts)) == 8  # one message per check, none twice
    finally:
        restarted.close()


def test_alert_buttons_over_socket_mode(slack, tmp_path, clock):
    from bot.runtime import Runner
    from bot.wiring import build_app

    parts = start(slack, tmp_path, clock)
    secrets = Secrets(slack_bot_token=slack.bot_token, slack_app_token=slack.app_token, slack_api_url=slack.base_url)
    app = build_app(parts, secrets, http=False)
    runner = Runner(app, parts, slack.app_token, schedule_checks=False, deliver=False)
    runner.start()
    try:
        slack.socket.wait_connected()
        cycle(parts, clock)
        unknown = next(m for m in top_level(slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])
        from bot.checks.finding import Finding

        fingerprint = Finding("DEMO", "unknown-connections", "warning", "210.107.73.73", "").fingerprint

        def buttons_block() -> str:
            """The block_id of the alert's buttons as the message shows them now (it changes with their state)."""
            blocks = slack.message(ALERTS, unknown["ts"])["blocks"]
            return next(b for b in blocks if b["type"] == "actions" and b["elements"][0]["value"] == fingerprint)[
                "block_id"
            ]

        def click(action_id: str, user: str) -> str:
            count = len(slack.responses())  # before the click: its answer may come back at once
            slack.socket.send_block_action(ALERTS, unknown["ts"], action_id, user_id=user, block_id=buttons_block())
            return slack.wait_for_response(count=count + 1, timeout=10)[-1].body["text"]

        assert "Only operators or approvers" in click("alert_silence_24h", "U0STRANGER")
        assert "Only operators or approvers" in click("alert_trust", "U0STRANGER")
        assert "Only viewers may trace addresses" in click("alert_trace_owner", "U0STRANGER")
        assert "Could not trace" in click("alert_trace_owner", "U01OPERATOR")  # operators may view
        # End connection… asks for a reason in a modal, then requests the change for the alert's address
        slack.socket.send_block_action(
            ALERTS, unknown["ts"], "alert_end_connection", user_id="U01OPERATOR", block_id=buttons_block()
        )
        [opened] = slack.wait_for("views.open", timeout=10)
        view_id = slack.calls_to("views.open")[0].response["view"]["id"]
        slack.socket.send_view_submission(
            view_id, {"reason": {"value": {"type": "plain_text_input", "value": "not our user"}}}, user_id="U01OPERATOR"
        )
        from storage import approvals as store

        wait_until(lambda: store.pending(parts.storage))
        [request] = store.pending(parts.storage)
        assert request.action == "end-connection" and request.alert_fingerprint == fingerprint
        assert "RMTINTNETA('210.107.73.73')" in request.commands[0]
        assert "Approved" in parts.approvals.approve(request.id, "U02APPROVER")
        deliver_all(parts, clock)
        assert any(
            f"Change request {request.id}" in r["text"] and "done" in r["text"]
            for r in slack.replies(ALERTS, unknown["ts"])
        )  # the outcome, in the alert's thread
        assert "Silenced for 24h" in click("alert_silence_24h", "U01OPERATOR")
        deliver_all(parts, clock)
        assert any("Silenced by <@U01OPERATOR>" in r["text"] for r in slack.replies(ALERTS, unknown["ts"]))
    finally:
        runner.stop()
        parts.close()


def test_maintenance_prunes_delivered_outbox_rows_but_keeps_message_records(slack, tmp_path, clock):
    from storage import outbox

    parts = start(slack, tmp_path, clock)
    try:
        cycle(parts, clock)
        delivered = len(outbox.items(parts.storage, state="sent"))
        assert delivered >= 4
        clock.advance(parts.config.storage.retention + 86400)  # [storage] retention, 30 days by default
        parts.maintenance.run()
        assert outbox.items(parts.storage, state="sent") == []
        unknown = next(m for m in top_level(slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])
        parts.systems.connection("DEMO").run_cl(
            EndTcpConnection.build(
                local_address="10.1.1.5", local_port=23, remote_address="210.107.73.73", remote_port=40411
            )
        )
        cycle(parts, clock)  # the thread and the edit still find their message
        assert any("Resolved" in r["text"] for r in slack.replies(ALERTS, unknown["ts"]))
    finally:
        parts.close()


def test_the_owner_is_added_to_a_posted_alert_by_editing_it(slack, tmp_path, clock):
    from datetime import UTC, datetime

    from bot.trace import Owner, TraceError

    class SlowRegistry(OfflineTracer):
        def trace(self, address: str) -> Owner:
            if address != "210.107.73.73":
                raise TraceError("not_found", "no record")
            return Owner(
                address=address,
                kind="rdap",
                organisation="BORANET",
                network_name="BORANET-NET-210-107",
                cidr="210.107.64.0/18",
                country="KR",
                registry="APNIC",
                looked_up_at=datetime.now(UTC),
            )

    config = make_config(tmp_path)
    parts = build_bot(
        config,
        Secrets(slack_bot_token=slack.bot_token, slack_api_url=slack.base_url),
        clock=clock,
        tracer=SlowRegistry(),
    )
    try:
        parts.checks.run_cycle()
        deliver_all(parts, clock)  # posted before any owner is known
        unknown = next(m for m in top_level(slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])
        posted = slack.calls_to("chat.postMessage")
        first_post = next(c for c in posted if "unknown-connections" in c.params.get("text", ""))
        assert "BORANET" not in json.dumps(first_post.params)
        parts.enricher.wait_idle(timeout=10)
        deliver_all(parts, clock)
        edited = slack.message(ALERTS, unknown["ts"])
        assert "Owner: BORANET" in text_of(edited)
    finally:
        parts.close()


def test_findings_no_route_takes_are_tracked_but_not_announced_again(slack, tmp_path, clock):
    from bot.checks.finding import Finding

    parts = start(slack, tmp_path, clock, routes=(Route(URGENT, "critical"),))
    try:
        info = Finding("DEMO", "smtp-relay", "info", "relay-policy-unknown", "Cannot determine the relay policy")
        first = parts.alerts.process("DEMO", "smtp-relay", [info])
        second = parts.alerts.process("DEMO", "smtp-relay", [info])
        assert first.new == [] and second.new == [] and not second.changed
        assert slack.calls_to("chat.postMessage") == []
    finally:
        parts.close()


def test_an_alert_back_during_a_silence_is_announced_as_back_when_it_ends(slack, tmp_path, clock):
    from bot.checks.finding import Finding
    from storage.alerts import add_silence

    parts = start(slack, tmp_path, clock)
    try:
        finding = Finding(
            "DEMO",
            "unknown-connections",
            "warning",
            "203.0.113.9",
            "1 connection from 203.0.113.9",
            facts={"remote_address": "203.0.113.9"},
        )
        parts.alerts.process("DEMO", "unknown-connections", [finding])
        parts.alerts.process("DEMO", "unknown-connections", [])  # resolved
        add_silence(parts.storage, "address", "203.0.113.9", "test", "U01OPERATOR", clock.now(), clock.now() + 60)
        parts.alerts.process("DEMO", "unknown-connections", [finding])  # back, but silenced
        clock.advance(120)
        result = parts.alerts.process("DEMO", "unknown-connections", [finding])  # silence over
        assert result.reopened == [finding.fingerprint]
    finally:
        parts.close()


def test_the_silence_command_is_said_in_the_alert_s_thread_like_the_button(slack, tmp_path, clock):
    from bot.command_parsing import SilenceRequest, UnsilenceRequest

    parts = start(slack, tmp_path, clock)
    try:
        cycle(parts, clock)
        unknown = next(m for m in top_level(slack) if "unknown-connections" in m["blocks"][0]["text"]["text"])
        change_requests = parts.requests
        assert change_requests is not None
        request = SilenceRequest("address", "210.107.73.73", 3600.0, "vendor test")
        assert change_requests.silence(request, "U01OPERATOR") == "Silenced 210.107.73.73 for 1h."
        deliver_all(parts, clock)
        replies = [r["text"] for r in slack.replies(ALERTS, unknown["ts"])]
        assert any(r.startswith(":zipper_mouth_face: Silenced by <@U01OPERATOR>") for r in replies)
        ended = change_requests.unsilence(UnsilenceRequest("address", "210.107.73.73"), "U01OPERATOR")
        assert ended == "Ended 1 silence(s) of 210.107.73.73."
        deliver_all(parts, clock)
        assert any(
            r["text"].startswith(":bell: Silence ended by <@U01OPERATOR>") for r in slack.replies(ALERTS, unknown["ts"])
        )
    finally:
        parts.close()
