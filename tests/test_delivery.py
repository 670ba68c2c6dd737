"""The delivery worker against the Slack test server, on a fake clock: order, pacing, retries, restarts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import __version__
from bot.slack.client import make_web_client
from bot.slack.delivery import DeliveryWorker, SystemClock, worker_client
from storage import Storage, open_database, outbox
from storage.outbox import SentMessage
from tests.slack_server import SlackTestServer
from tests.thread_states import blocked_in, wait_until

T0 = 1_750_000_000.0


class FakeClock:
    def __init__(self, start: float = T0) -> None:
        self.time = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.time

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.time += seconds


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer() as server:
        yield server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warden.db"


@pytest.fixture
def storage(db_path: Path) -> Iterator[Storage]:
    opened = open_database(db_path, __version__)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def new_worker(storage: Storage, slack: SlackTestServer, clock: FakeClock | SystemClock, **options) -> DeliveryWorker:
    return DeliveryWorker(storage, make_web_client(slack.bot_token, slack.base_url), clock, **options)


@pytest.fixture
def worker(storage: Storage, slack: SlackTestServer, clock: FakeClock) -> DeliveryWorker:
    return new_worker(storage, slack, clock)


def post(storage: Storage, channel: str, text: str, now: float = T0, **keys: str) -> int:
    return outbox.enqueue(storage, channel, outbox.POST, {"text": text}, now=now, **keys)


def texts(slack: SlackTestServer, channel: str) -> list[str]:
    return [message["text"] for message in slack.messages(channel)]


def run_until_empty(worker: DeliveryWorker, clock: FakeClock, step: float = 0.5, limit: float = 600.0) -> int:
    """Call deliver_due every `step` fake seconds until nothing is pending; returns the passes made."""
    passes = 0
    start = clock.now()
    while True:
        worker.deliver_due()
        passes += 1
        if worker.next_wakeup() is None:
            return passes
        assert clock.now() - start < limit, "the outbox did not drain"
        clock.advance(step)


# --- order and pacing -------------------------------------------------------------------------------


def test_one_channel_is_paced_at_one_message_per_second(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "first")
    post(storage, "C1", "second")
    assert worker.next_wakeup() == T0
    assert worker.deliver_due() == 1
    assert texts(slack, "C1") == ["first"]
    assert worker.next_wakeup() == T0 + 1

    clock.advance(0.99)
    assert worker.deliver_due() == 0
    assert len(slack.calls_to("chat.postMessage")) == 1

    clock.advance(0.01)
    assert worker.deliver_due() == 1
    assert texts(slack, "C1") == ["first", "second"]
    assert worker.next_wakeup() is None
    assert outbox.pending_count(storage) == 0


def test_two_channels_are_sent_in_the_same_pass(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer
) -> None:
    post(storage, "C1", "to one")
    post(storage, "C2", "to two")
    assert worker.deliver_due() == 2
    assert texts(slack, "C1") == ["to one"]
    assert texts(slack, "C2") == ["to two"]


def test_edits_are_paced_with_posts(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "Alert", message_key="alert:1")
    outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "Alert (resolved)"}, target_key="alert:1", now=T0)
    assert worker.deliver_due() == 1
    assert slack.calls_to("chat.update") == []
    clock.advance(1)
    assert worker.deliver_due() == 1
    assert len(slack.calls_to("chat.update")) == 1


def test_many_channels_keep_their_own_order(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    expected: dict[str, list[str]] = {"C1": [], "C2": [], "C3": []}
    for n in range(12):
        channel = f"C{n % 3 + 1}"
        expected[channel].append(f"message {n}")
        post(storage, channel, f"message {n}")
    run_until_empty(worker, clock)
    for channel, wanted in expected.items():
        assert texts(slack, channel) == wanted
    assert len(slack.calls_to("chat.postMessage")) == 12


# --- threads and edits ---------------------------------------------------------------------------


def test_a_reply_lands_in_the_parents_thread_and_an_edit_changes_the_parent(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    with storage.transaction():
        post(storage, "C1", "PROD: telnet from 203.0.113.9", message_key="alert:abc")
        outbox.enqueue(
            storage,
            "C1",
            outbox.POST,
            {"text": "Owner: Example Hosting", "reply_broadcast": False},
            thread_key="alert:abc",
            now=T0,
        )
        outbox.enqueue(
            storage,
            "C1",
            outbox.UPDATE,
            {"text": "PROD: telnet from 203.0.113.9 (resolved)"},
            target_key="alert:abc",
            now=T0,
        )
    run_until_empty(worker, clock)

    parent = outbox.sent_message(storage, "alert:abc")
    assert parent is not None and parent.channel == "C1"
    assert [reply["text"] for reply in slack.replies("C1", parent.ts)] == ["Owner: Example Hosting"]
    message = slack.message("C1", parent.ts)
    assert message is not None
    assert message["text"] == "PROD: telnet from 203.0.113.9 (resolved)"
    assert "edited" in message
    assert [item.state for item in outbox.items(storage)] == ["sent", "sent", "sent"]
    assert outbox.items(storage)[2].ts == parent.ts


def test_a_dm_by_user_id_is_recorded_under_its_dm_channel_and_edited_there(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "U02APPROVER", "Please review request 7", message_key="approval:7:dm")
    outbox.enqueue(
        storage, "U02APPROVER", outbox.UPDATE, {"text": "Request 7: approved"}, target_key="approval:7:dm", now=T0
    )
    run_until_empty(worker, clock)
    message = outbox.sent_message(storage, "approval:7:dm")
    assert message is not None and message.channel.startswith("D")
    assert slack.message(message.channel, message.ts)["text"] == "Request 7: approved"  # type: ignore[index]


def test_an_item_whose_parent_is_not_sent_yet_waits(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    # The edit waits in another queue than its parent, so only the key holds it back.
    post(storage, "C1", "Approval request", message_key="approval:1")
    outbox.enqueue(storage, "C2", outbox.UPDATE, {"text": "Approved"}, target_key="approval:1", now=T0)
    slack.fail_next("chat.postMessage", status=503)

    assert worker.deliver_due() == 0
    assert slack.calls_to("chat.update") == []
    assert [item.state for item in outbox.items(storage)] == ["pending", "pending"]

    clock.advance(1)
    assert worker.deliver_due() == 2  # the parent, then in the same pass the edit it freed
    parent = outbox.sent_message(storage, "approval:1")
    assert parent is not None
    assert slack.message("C1", parent.ts)["text"] == "Approved"  # type: ignore[index]


# --- retries -----------------------------------------------------------------------------------------


def test_the_worker_makes_its_own_retries_and_leaves_the_callers_client_alone(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    client = make_web_client(slack.bot_token, slack.base_url)
    worker = DeliveryWorker(storage, client, clock)
    assert worker.client is not client and worker.client.retry_handlers == []
    assert len(client.retry_handlers) == 3
    assert worker.client.token == client.token and worker.client.base_url == client.base_url

    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=503)
    assert worker.deliver_due() == 0
    assert len(slack.calls_to("chat.postMessage")) == 1  # no retry inside the call


def test_429_waits_for_retry_after_and_holds_the_channel(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "first")
    post(storage, "C1", "second")
    post(storage, "C2", "other channel")
    slack.fail_next("chat.postMessage", status=429, retry_after=30, channel="C1")

    assert worker.deliver_due() == 1  # C1's first was rate limited, C2 went
    assert texts(slack, "C2") == ["other channel"]
    assert worker.next_wakeup() == T0 + 30

    clock.advance(29.9)
    assert worker.deliver_due() == 0
    assert len(slack.calls_to("chat.postMessage")) == 2  # nothing retried before Retry-After

    clock.advance(0.1)
    assert worker.deliver_due() == 1
    assert texts(slack, "C1") == ["first"]
    clock.advance(1)
    assert worker.deliver_due() == 1
    assert texts(slack, "C1") == ["first", "second"]
    first = outbox.items(storage, channel="C1")[0]
    assert first.attempts == 1 and first.error is not None and "rate limited" in first.error  # a 429 is no attempt


def test_429_without_retry_after_waits_one_second(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=429, retry_after=None)
    assert worker.deliver_due() == 0
    assert worker.next_wakeup() == T0 + 1
    clock.advance(1)
    assert worker.deliver_due() == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_back_off_exponentially(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock, status: int
) -> None:
    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=status, times=4)
    due_times = []
    for _ in range(4):
        assert worker.deliver_due() == 0
        wakeup = worker.next_wakeup()
        assert wakeup is not None
        due_times.append(wakeup - clock.now())
        clock.advance(wakeup - clock.now())
    assert due_times == [1, 2, 4, 8]
    assert worker.deliver_due() == 1
    assert texts(slack, "C1") == ["hello"]


def test_backoff_is_capped(storage: Storage, slack: SlackTestServer, clock: FakeClock) -> None:
    worker = new_worker(storage, slack, clock, max_backoff=5)
    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=500, times=5)
    waits = []
    for _ in range(5):
        worker.deliver_due()
        wakeup = worker.next_wakeup()
        assert wakeup is not None
        waits.append(wakeup - clock.now())
        clock.advance(wakeup - clock.now())
    assert waits == [1, 2, 4, 5, 5]


def test_a_dropped_connection_is_retried(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "hello")
    slack.drop_next("chat.postMessage")
    assert worker.deliver_due() == 0
    item = outbox.items(storage)[0]
    assert item.state == "pending" and item.error is not None and item.error.startswith("connection error")
    assert worker.next_wakeup() == T0 + 1
    clock.advance(1)
    assert worker.deliver_due() == 1
    assert texts(slack, "C1") == ["hello"]
    assert [call.fault for call in slack.calls_to("chat.postMessage")] == ["drop", None]


def test_an_unreachable_slack_is_retried(storage: Storage, clock: FakeClock) -> None:
    with SlackTestServer() as slack:
        base_url, token = slack.base_url, slack.bot_token
    worker = DeliveryWorker(storage, make_web_client(token, base_url), clock)  # nothing listens there now
    post(storage, "C1", "hello")
    assert worker.deliver_due() == 0
    item = outbox.items(storage)[0]
    assert item.state == "pending" and item.attempts == 1 and "connection error" in (item.error or "")


def test_slack_answering_503_for_two_minutes_then_recovering_delivers_every_alert_once_in_order(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    expected: dict[str, list[str]] = {"C1": [], "C2": []}
    for n in range(10):
        channel = "C1" if n % 2 == 0 else "C2"
        expected[channel].append(f"alert {n}")
        post(storage, channel, f"alert {n}")
    slack.fail_next("chat.postMessage", status=503, times=1_000_000)

    outage_over = False
    while outbox.pending_count(storage):
        if not outage_over and clock.now() >= T0 + 120:
            during_outage = slack.calls_to("chat.postMessage")
            slack.reset()  # Slack is back: the pending faults are gone
            outage_over = True
        worker.deliver_due()
        clock.advance(0.5)
        assert clock.now() < T0 + 600, "the outbox did not drain"

    for channel, wanted in expected.items():
        assert texts(slack, channel) == wanted  # each exactly once, in enqueue order
    assert all(item.state == "sent" for item in outbox.items(storage))
    assert min(item.finished_at or 0 for item in outbox.items(storage)) >= T0 + 120
    # During the outage each channel's head backed off (1, 2, 4 … 64 s) instead of hammering Slack.
    assert all(call.fault == "503" for call in during_outage)
    assert {call.params["text"] for call in during_outage} == {"alert 0", "alert 1"}
    assert 2 <= len(during_outage) <= 16


# --- permanent failures -------------------------------------------------------------------------


def test_permanent_errors_fail_the_item_and_the_channel_moves_on(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock, caplog
) -> None:
    outbox.enqueue(storage, "C1", outbox.POST, {"text": "bad", "blocks": [{"type": "bogus"}]}, now=T0)
    post(storage, "C1", "x" * 40_001)
    post(storage, "C1", "good")
    with caplog.at_level(logging.ERROR, logger="bot.slack.delivery"):
        run_until_empty(worker, clock)
    assert texts(slack, "C1") == ["good"]
    states = [(item.state, item.error) for item in outbox.items(storage)]
    assert states == [("failed", "invalid_blocks"), ("failed", "msg_too_long"), ("sent", None)]
    assert "invalid_blocks" in caplog.text and "msg_too_long" in caplog.text
    assert len(slack.calls_to("chat.postMessage")) == 3  # none of them retried


def test_a_channel_slack_does_not_know_is_parked_without_blocking_others(storage: Storage, clock: FakeClock) -> None:
    with SlackTestServer(channels=["C1"]) as slack:
        worker = new_worker(storage, slack, clock)
        post(storage, "C404", "lost")
        post(storage, "C1", "found")
        assert worker.deliver_due() == 1
        assert texts(slack, "C1") == ["found"]
        lost = outbox.items(storage, channel="C404")[0]
        assert (lost.state, lost.hold, lost.error) == ("pending", "parked", "channel_not_found")


def test_a_reply_or_edit_of_a_failed_parent_fails_too(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer, clock: FakeClock, caplog
) -> None:
    outbox.enqueue(
        storage, "C1", outbox.POST, {"text": "parent", "blocks": [{"type": "bogus"}]}, message_key="alert:1", now=T0
    )
    post(storage, "C1", "reply", thread_key="alert:1")
    outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "edited"}, target_key="alert:1", now=T0)
    post(storage, "C1", "unrelated")

    assert worker.deliver_due() == 0  # the parent: invalid_blocks
    clock.advance(1)
    with caplog.at_level(logging.ERROR, logger="bot.slack.delivery"):
        assert worker.deliver_due() == 1  # reply and edit fail without a call, so "unrelated" goes now
    assert texts(slack, "C1") == ["unrelated"]
    assert slack.calls_to("chat.update") == []
    parent, reply, edit, unrelated = outbox.items(storage)
    assert (parent.state, reply.state, edit.state, unrelated.state) == ("failed", "failed", "failed", "sent")
    assert reply.error == "the message 'alert:1' this reply refers to was never sent: its post failed (invalid_blocks)"
    assert edit.error == "the message 'alert:1' this edit refers to was never sent: its post failed (invalid_blocks)"
    assert "this reply refers to was never sent" in caplog.text


def test_an_edit_of_a_key_nobody_enqueued_fails(
    worker: DeliveryWorker, storage: Storage, slack: SlackTestServer
) -> None:
    outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "edited"}, target_key="alert:nobody", now=T0)
    post(storage, "C1", "next")
    assert worker.deliver_due() == 1
    edit = outbox.items(storage)[0]
    assert edit.state == "failed" and "nothing was enqueued under that key" in (edit.error or "")


def test_logs_never_show_the_token(storage: Storage, slack: SlackTestServer, clock: FakeClock, caplog) -> None:
    token = "xoxb-1111-2222-not-registered"
    worker = DeliveryWorker(storage, make_web_client(token, slack.base_url), clock)
    post(storage, "C1", "hello")
    post(storage, "C2", "hello")
    slack.drop_next("chat.postMessage")
    with caplog.at_level(logging.DEBUG):
        worker.deliver_due()
    assert "invalid_auth" in caplog.text and "connection error" in caplog.text
    assert token not in caplog.text


# --- restarts -----------------------------------------------------------------------------------------


def test_a_restart_sends_what_was_pending_and_never_resends(
    storage: Storage, db_path: Path, slack: SlackTestServer, clock: FakeClock
) -> None:
    for n in range(5):
        post(storage, "C1", f"alert {n}")
    worker = new_worker(storage, slack, clock)
    worker.deliver_due()
    clock.advance(1)
    worker.deliver_due()
    assert texts(slack, "C1") == ["alert 0", "alert 1"]
    storage.close()

    clock.advance(30)
    reopened = open_database(db_path, __version__)
    try:
        restarted = new_worker(reopened, slack, clock)
        run_until_empty(restarted, clock)
        assert outbox.pending_count(reopened) == 0
    finally:
        reopened.close()
    assert texts(slack, "C1") == [f"alert {n}" for n in range(5)]
    assert len(slack.calls_to("chat.postMessage")) == 5


def test_an_item_left_sending_is_sent_again_after_a_restart(
    storage: Storage, db_path: Path, slack: SlackTestServer, clock: FakeClock, caplog
) -> None:
    item_id = post(storage, "C1", "in flight when the bot died", message_key="alert:1")
    outbox.mark_sending(storage, item_id, T0)  # what the worker commits right before its call
    storage.close()

    clock.advance(5)
    reopened = open_database(db_path, __version__)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.slack.delivery"):
            restarted = new_worker(reopened, slack, clock)
        assert "sending it again" in caplog.text
        assert restarted.deliver_due() == 1
        item = outbox.get_item(reopened, item_id)
        assert item is not None and item.state == "sent" and item.attempts == 2
        assert outbox.sent_message(reopened, "alert:1") == SentMessage("C1", item.ts)
    finally:
        reopened.close()
    assert texts(slack, "C1") == ["in flight when the bot died"]


def test_pacing_holds_across_a_restart(
    storage: Storage, db_path: Path, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "before")
    post(storage, "C1", "after")
    new_worker(storage, slack, clock).deliver_due()
    restarted = new_worker(storage, slack, clock)
    assert restarted.deliver_due() == 0
    assert restarted.next_wakeup() == T0 + 1


def test_a_backoff_survives_a_restart(storage: Storage, slack: SlackTestServer, clock: FakeClock) -> None:
    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=429, retry_after=60)
    new_worker(storage, slack, clock).deliver_due()
    restarted = new_worker(storage, slack, clock)
    assert restarted.next_wakeup() == T0 + 60
    clock.advance(59)
    assert restarted.deliver_due() == 0
    clock.advance(1)
    assert restarted.deliver_due() == 1


# --- the background thread -----------------------------------------------------------------------


def test_the_thread_delivers_promptly_after_wake_and_stops_quickly(storage: Storage, slack: SlackTestServer) -> None:
    worker = new_worker(storage, slack, SystemClock())
    worker.start()
    try:
        assert worker.running
        idle = blocked_in([worker._thread], "wait", "threading")  # type: ignore[list-item]
        wait_until(lambda: idle() == 1)  # settled into its idle wait, which wake() must cut short
        started = time.monotonic()
        post(storage, "C1", "now please", now=time.time())
        worker.wake()
        slack.wait_for("chat.postMessage", timeout=5)
        assert time.monotonic() - started < 2  # not the idle wait
    finally:
        stopping = time.monotonic()
        worker.stop()
        stopped_in = time.monotonic() - stopping
    assert not worker.running
    assert stopped_in < 2
    assert texts(slack, "C1") == ["now please"]


def test_enqueueing_from_several_threads_while_the_worker_runs(storage: Storage, slack: SlackTestServer) -> None:
    worker = new_worker(storage, slack, SystemClock(), per_channel_interval=0.01)
    worker.start()

    def producer(channel: str) -> None:
        for n in range(10):
            with storage.transaction():
                post(storage, channel, f"{channel} {n}", now=time.time())
            worker.wake()

    producers = [threading.Thread(target=producer, args=(f"C{n}",)) for n in range(1, 5)]
    try:
        for thread in producers:
            thread.start()
        for thread in producers:
            thread.join()
        slack.wait_for("chat.postMessage", count=40, timeout=10)
        wait_until(lambda: not outbox.pending_count(storage))  # the last rows are marked sent after their calls
    finally:
        worker.stop()
    for n in range(1, 5):
        assert texts(slack, f"C{n}") == [f"C{n} {i}" for i in range(10)]
    assert outbox.pending_count(storage) == 0


def test_worker_client_copies_without_touching_the_original(slack: SlackTestServer) -> None:
    client = make_web_client(slack.bot_token, slack.base_url)
    copied = worker_client(client)
    assert copied.retry_handlers == [] and len(client.retry_handlers) == 3
    assert copied.auth_test()["ok"]
