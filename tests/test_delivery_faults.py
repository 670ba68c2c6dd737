"""Issue findings 4, 5 and 8 against the Slack test server, on a fake clock: permanent Slack errors park rows
instead of losing them, rate limits and outages back off within bounds, channels go concurrently, and a post
Slack accepted is never sent twice because its record could not be written."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import __version__
from bot.slack.client import make_web_client
from bot.slack.delivery import DeliveryWorker
from storage import Storage, open_database, outbox
from storage.outbox import ParkedChannel
from tests.slack_server import SlackTestServer
from tests.test_delivery import T0, FakeClock, post, run_until_empty, texts


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer() as server:
        yield server


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_database(tmp_path / "warden.db", __version__)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def worker_for(storage: Storage, slack: SlackTestServer, clock: FakeClock, **options) -> DeliveryWorker:
    token = options.pop("token", slack.bot_token)
    return DeliveryWorker(storage, make_web_client(token, slack.base_url), clock, **options)


def waits(worker: DeliveryWorker, clock: FakeClock, passes: int) -> list[float]:
    """Run `passes` passes, each at the next wakeup; the wait before each."""
    seen = []
    for _ in range(passes):
        worker.deliver_due()
        wakeup = worker.next_wakeup()
        assert wakeup is not None
        seen.append(wakeup - clock.now())
        clock.advance(wakeup - clock.now())
    return seen


def alert_with_thread(storage: Storage, channel: str, name: str) -> None:
    post(storage, channel, name, message_key=name)
    post(storage, channel, f"{name}: details", thread_key=name)
    outbox.enqueue(storage, channel, outbox.UPDATE, {"text": f"{name} (owner known)"}, target_key=name, now=T0)


# --- finding 4: a permanent Slack error parks, never loses -------------------------------------------------


def test_not_in_channel_parks_every_alert_and_sends_them_in_order_once_the_bot_is_invited(
    storage: Storage, slack: SlackTestServer, clock: FakeClock, caplog
) -> None:
    slack.add_channel("C0ALERTS", is_member=False)  # the bot was not invited yet
    for n in range(3):
        alert_with_thread(storage, "C0ALERTS", f"alert {n}")
    post(storage, "C0OTHER", "elsewhere")
    worker = worker_for(storage, slack, clock)

    with caplog.at_level(logging.ERROR, logger="bot.slack.delivery"):
        for _ in range(80):  # 40 s without the bot in the channel
            worker.deliver_due()
            clock.advance(0.5)
    assert texts(slack, "C0OTHER") == ["elsewhere"]
    assert [c.error for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "C0ALERTS"] == [
        "not_in_channel"
    ]  # parked: tried again slowly, not hammered
    assert all(item.state == "pending" for item in outbox.items(storage, channel="C0ALERTS"))
    assert "invite the bot to C0ALERTS: /invite @ibmi-warden" in caplog.text
    assert caplog.records[0].levelno == logging.ERROR
    assert outbox.parked_channels(storage) == [ParkedChannel("C0ALERTS", "not_in_channel", 9, T0)]

    slack.add_channel("C0ALERTS", is_member=True)  # /invite @ibmi-warden
    assert worker.retry_parked("the bot joined C0ALERTS") == 1
    run_until_empty(worker, clock)
    assert texts(slack, "C0ALERTS") == [
        text for n in range(3) for text in (f"alert {n} (owner known)", f"alert {n}: details")
    ]
    for n in range(3):
        parent = outbox.sent_message(storage, f"alert {n}")
        assert parent is not None
        assert [m["text"] for m in slack.replies("C0ALERTS", parent.ts)] == [f"alert {n}: details"]
    assert {item.state for item in outbox.items(storage)} == {"sent"}
    assert outbox.parked_channels(storage) == []


def test_a_parked_row_is_tried_again_every_five_minutes(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    slack.add_channel("C0ALERTS", is_member=False)
    post(storage, "C0ALERTS", "critical")
    worker = worker_for(storage, slack, clock)
    assert waits(worker, clock, 2) == [300, 300]
    slack.add_channel("C0ALERTS", is_member=True)
    worker.deliver_due()
    assert texts(slack, "C0ALERTS") == ["critical"]


@pytest.mark.parametrize("error", ["channel_not_found", "is_archived"])
def test_other_channel_errors_park_too(storage: Storage, slack: SlackTestServer, clock: FakeClock, error: str) -> None:
    post(storage, "C1", "first")
    post(storage, "C1", "second")
    slack.fail_next("chat.postMessage", status=200, error=error, channel="C1")
    worker = worker_for(storage, slack, clock)
    worker.deliver_due()
    first, second = outbox.items(storage)
    assert (first.state, first.hold, first.error, second.state) == ("pending", "parked", error, "pending")
    worker.retry_parked()
    run_until_empty(worker, clock)
    assert texts(slack, "C1") == ["first", "second"]


def test_a_configured_fallback_channel_is_told_once_with_the_fix(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    slack.add_channel("C0ALERTS", is_member=False)
    post(storage, "C0ALERTS", "critical")
    post(storage, "C0ALERTS", "warning")
    worker = worker_for(storage, slack, clock, fallback_channel="C0OPS")
    for _ in range(3):  # parked, then tried again twice
        worker.deliver_due()
        clock.advance(300)
    (notice,) = texts(slack, "C0OPS")
    assert "cannot post to C0ALERTS (not_in_channel): 2 message(s) wait" in notice
    assert "/invite @ibmi-warden" in notice


@pytest.mark.parametrize("revoked", [False, True])
def test_a_refused_token_parks_everything_and_a_start_with_a_good_token_sends_it_at_once(
    storage: Storage, slack: SlackTestServer, clock: FakeClock, caplog, revoked: bool
) -> None:
    bad_token = "xoxb-revoked" if revoked else "xoxb-never-issued"
    if revoked:
        slack.add_token(bad_token, "bot", "chat:write")
        slack.revoke_token(bad_token)
    alert_with_thread(storage, "C1", "payroll")
    post(storage, "C2", "telnet")
    with caplog.at_level(logging.ERROR, logger="bot.slack.delivery"):
        worker_for(storage, slack, clock, token=bad_token).deliver_due()
    assert {item.state for item in outbox.items(storage)} == {"pending"}
    assert {p.error for p in outbox.parked_channels(storage)} == {"token_revoked" if revoked else "invalid_auth"}
    assert "put its bot token (xoxb-…) in SLACK_BOT_TOKEN and restart the bot" in caplog.text
    assert bad_token not in caplog.text

    clock.advance(10)
    restarted = worker_for(storage, slack, clock)  # the token was fixed and the bot restarted
    assert restarted.next_wakeup() == clock.now()
    run_until_empty(restarted, clock)
    assert texts(slack, "C1") == ["payroll (owner known)", "payroll: details"] and texts(slack, "C2") == ["telnet"]


def test_errors_about_the_message_itself_still_fail_that_row_alone(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    outbox.enqueue(storage, "C1", outbox.POST, {"text": "bad", "blocks": [{"type": "bogus"}]}, now=T0)
    post(storage, "C1", "good")
    run_until_empty(worker_for(storage, slack, clock), clock)
    assert [(item.state, item.error) for item in outbox.items(storage)] == [
        ("failed", "invalid_blocks"),
        ("sent", None),
    ]


# --- finding 5: bounded backoff, rate limits, concurrency ------------------------------------------------------


def test_transient_backoff_is_capped_at_60_seconds_by_default(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=503, times=9)
    assert waits(worker_for(storage, slack, clock), clock, 9) == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_429_waits_retry_after_without_growing_the_backoff_nor_counting_as_an_attempt(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=503, times=2)
    slack.fail_next("chat.postMessage", status=429, retry_after=7, times=3)
    slack.fail_next("chat.postMessage", status=503)
    worker = worker_for(storage, slack, clock)
    assert waits(worker, clock, 6) == [1, 2, 7, 7, 7, 4]
    worker.deliver_due()
    (item,) = outbox.items(storage)
    assert item.state == "sent" and item.attempts == 4  # three 503s and the success; the 429s do not count


def test_the_backoff_starts_again_at_one_second_once_the_channel_recovers(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "first")
    post(storage, "C1", "second")
    slack.fail_next("chat.postMessage", status=503, times=5)
    worker = worker_for(storage, slack, clock)
    assert waits(worker, clock, 5) == [1, 2, 4, 8, 16]
    worker.deliver_due()
    assert texts(slack, "C1") == ["first"]
    clock.advance(1)
    slack.fail_next("chat.postMessage", status=503)
    assert waits(worker, clock, 1) == [1]


def test_a_restart_after_an_outage_sends_at_once_instead_of_waiting_out_the_backoff(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=503, times=7)
    worker = worker_for(storage, slack, clock)
    assert waits(worker, clock, 6)[-1] == 32
    worker.deliver_due()
    assert worker.next_wakeup() == clock.now() + 60  # the 7th failure: a minute's wait is stored
    slack.reset()  # Slack recovered; the bot restarts
    restarted = worker_for(storage, slack, clock)
    assert restarted.next_wakeup() == clock.now() + 1  # the channel's pacing only, not the minute
    clock.advance(1)
    assert restarted.deliver_due() == 1


def test_a_rate_limit_survives_a_restart(storage: Storage, slack: SlackTestServer, clock: FakeClock) -> None:
    post(storage, "C1", "hello")
    slack.fail_next("chat.postMessage", status=429, retry_after=20)
    worker_for(storage, slack, clock).deliver_due()
    assert worker_for(storage, slack, clock).next_wakeup() == T0 + 20


def test_channels_are_sent_concurrently_with_one_call_per_channel(
    storage: Storage, slack: SlackTestServer, clock: FakeClock
) -> None:
    for n in range(12):
        post(storage, f"C{n:02}", "first")
        post(storage, f"C{n:02}", "second")
    worker = worker_for(storage, slack, clock, concurrency=8)
    slack.hold_answers()
    worker.start()
    try:
        assert slack.wait_until_held(8) == 8  # eight channels in flight at once, no more
        slack.release_answers()
        slack.wait_for("chat.postMessage", count=12)
        clock.advance(1)  # the per-channel pacing: the second rows go a second later
        worker.wake()
        slack.wait_for("chat.postMessage", count=24)
    finally:
        slack.release_answers()
        worker.stop()
    for n in range(12):
        assert texts(slack, f"C{n:02}") == ["first", "second"]


def test_a_slow_channel_does_not_hold_the_others(storage: Storage, slack: SlackTestServer, clock: FakeClock) -> None:
    post(storage, "C0SLOW", "stuck")
    post(storage, "C0SLOW", "behind it")
    post(storage, "C0FAST", "quick")
    worker = worker_for(storage, slack, clock)
    slack.hold_answers(channel="C0SLOW")
    worker.start()
    try:
        slack.wait_until_held(1)
        slack.wait_for("chat.postMessage", count=1)  # C0FAST answered while C0SLOW's call hangs
        assert texts(slack, "C0FAST") == ["quick"]
        assert [c.params["text"] for c in slack.calls_to("chat.postMessage")] == ["quick"]
    finally:
        slack.release_answers()
        worker.stop()


# --- finding 8 (the outbox half): a post Slack accepted is recorded, never resent -----------------------------


def test_a_locked_database_after_slack_accepted_a_post_does_not_send_it_twice(
    storage: Storage, slack: SlackTestServer, clock: FakeClock, monkeypatch
) -> None:
    real_mark_sent = outbox.mark_sent
    locked = {"calls": 0, "until": 1_000}

    def mark_sent_while_locked(*args, **kwargs):
        locked["calls"] += 1
        if locked["calls"] <= locked["until"]:
            raise sqlite3.OperationalError("database is locked")
        return real_mark_sent(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", mark_sent_while_locked)
    post(storage, "C1", "critical", message_key="alert:1")
    post(storage, "C1", "reply", thread_key="alert:1")
    paused: list[float] = []
    worker = worker_for(storage, slack, clock, pause=paused.append)

    assert worker.deliver_due() == 0  # accepted by Slack, but the record could not be written
    assert len(paused) == 10 and sum(paused) < 30  # bounded, short waits
    for _ in range(5):  # the database stays locked: the post is never sent again, its reply waits
        clock.advance(1)
        worker.deliver_due()
    assert texts(slack, "C1") == ["critical"]

    locked["until"] = 0  # the lock is released
    run_until_empty(worker, clock)
    assert texts(slack, "C1") == ["critical", "reply"]
    parent = outbox.sent_message(storage, "alert:1")
    assert parent is not None and [m["text"] for m in slack.replies("C1", parent.ts)] == ["reply"]
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_a_record_that_fails_briefly_is_retried_at_once(
    storage: Storage, slack: SlackTestServer, clock: FakeClock, monkeypatch
) -> None:
    real_mark_sent = outbox.mark_sent
    failures = iter([sqlite3.OperationalError("database is locked")] * 3)

    def flaky(*args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return real_mark_sent(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", flaky)
    post(storage, "C1", "hello")
    paused: list[float] = []
    assert worker_for(storage, slack, clock, pause=paused.append).deliver_due() == 1
    assert paused == [0.05, 0.1, 0.2]
    assert len(slack.calls_to("chat.postMessage")) == 1
