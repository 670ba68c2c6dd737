"""The outbox tables: enqueueing (alone or in the caller's transaction), queue heads, keys and states."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from slack_sdk.models.blocks import DividerBlock, SectionBlock

from bot import __version__
from storage import Storage, open_database, outbox
from storage.outbox import KeyStatus, SentMessage

T0 = 1_750_000_000.0


@pytest.fixture
def storage(tmp_path: Path):
    opened = open_database(tmp_path / "warden.db", __version__)
    yield opened
    opened.close()


def post(storage: Storage, channel: str, text: str, **keys: str | None) -> int:
    return outbox.enqueue(storage, channel, outbox.POST, {"text": text}, now=T0, **keys)


# --- enqueue ----------------------------------------------------------------------------------------


def test_enqueue_stores_the_call_pending_and_due_at_once(storage: Storage) -> None:
    payload = {"text": "New connection", "blocks": [{"type": "divider"}], "unfurl_links": False}
    item_id = outbox.enqueue(storage, "C1", outbox.POST, payload, message_key="alert:1", now=T0)
    item = outbox.get_item(storage, item_id)
    assert item is not None
    assert (item.channel, item.method, item.payload, item.message_key) == ("C1", "chat.postMessage", payload, "alert:1")
    assert (item.state, item.enqueued_at, item.next_attempt_at, item.attempts) == ("pending", T0, T0, 0)
    assert item.ts is None and item.error is None and item.finished_at is None
    assert outbox.pending_count(storage) == 1


def test_block_kit_objects_are_stored_as_their_json(storage: Storage) -> None:
    blocks = [SectionBlock(text="*Telnet* from 203.0.113.9"), DividerBlock()]
    item_id = outbox.enqueue(storage, "C1", outbox.POST, {"text": "alert", "blocks": blocks}, now=T0)
    item = outbox.get_item(storage, item_id)
    assert item is not None
    assert item.payload["blocks"] == [block.to_dict() for block in blocks]


@pytest.mark.parametrize(
    ("method", "payload", "keys", "message"),
    [
        ("chat.delete", {"text": "x"}, {}, "method 'chat.delete' is not one of"),
        ("chat.postMessage", {"text": "x", "channel": "C2"}, {}, "must not carry channel"),
        ("chat.postMessage", {"text": "x", "thread_ts": "1.2"}, {}, "must not carry thread_ts"),
        ("chat.update", {"text": "x", "ts": "1.2"}, {"target_key": "a"}, "must not carry ts"),
        ("chat.postMessage", {"unfurl_links": False}, {}, "needs one of text, blocks, attachments"),
        ("chat.postMessage", {"text": "x"}, {"target_key": "a"}, "target_key is for chat.update"),
        ("chat.update", {"text": "x"}, {}, "chat.update needs target_key"),
        ("chat.update", {"text": "x"}, {"target_key": "a", "message_key": "b"}, "message_key and thread_key"),
        ("chat.postMessage", {"text": "x"}, {"message_key": ""}, "message_key must be a non-empty string"),
        ("chat.postMessage", {"text": object()}, {}, "cannot be stored as JSON"),
    ],
)
def test_enqueue_refuses_calls_the_worker_could_never_make(
    storage: Storage, method: str, payload: dict, keys: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        outbox.enqueue(storage, "C1", method, payload, now=T0, **keys)
    assert outbox.pending_count(storage) == 0


def test_enqueue_refuses_an_empty_channel(storage: Storage) -> None:
    with pytest.raises(ValueError, match="channel"):
        outbox.enqueue(storage, " ", outbox.POST, {"text": "x"}, now=T0)


def test_enqueue_joins_the_callers_transaction(storage: Storage) -> None:
    storage.db.execute("CREATE TABLE alert_state (id TEXT PRIMARY KEY, state TEXT)")
    with storage.transaction() as db:
        db.execute("INSERT INTO alert_state VALUES ('a1', 'open')")
        parent = post(storage, "C1", "New alert", message_key="alert:a1")
        reply = post(storage, "C1", "Details", thread_key="alert:a1")
        edit = outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "New alert (1)"}, target_key="alert:a1", now=T0)
        assert storage.db.conn.in_transaction  # enqueue neither committed nor ended it
    assert [item.id for item in outbox.items(storage)] == [parent, reply, edit]
    assert storage.db["alert_state"].count == 1


def test_a_rolled_back_transaction_leaves_nothing_queued(storage: Storage) -> None:
    storage.db.execute("CREATE TABLE alert_state (id TEXT PRIMARY KEY, state TEXT)")
    with pytest.raises(RuntimeError), storage.transaction() as db:
        db.execute("INSERT INTO alert_state VALUES ('a1', 'open')")
        post(storage, "C1", "New alert", message_key="alert:a1")
        raise RuntimeError("the lifecycle changed its mind")
    assert outbox.pending_count(storage) == 0
    assert storage.db["alert_state"].count == 0


def test_enqueue_outside_a_transaction_is_committed_at_once(storage: Storage, tmp_path: Path) -> None:
    post(storage, "C1", "hello")
    assert not storage.db.conn.in_transaction
    other = sqlite3.connect(tmp_path / "warden.db")
    try:
        assert other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    finally:
        other.close()


def test_enqueue_from_many_threads(storage: Storage) -> None:
    def producer(channel: str) -> None:
        for n in range(25):
            post(storage, channel, f"{channel}-{n}")

    threads = [threading.Thread(target=producer, args=(f"C{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outbox.pending_count(storage) == 100
    for n in range(4):
        texts = [item.payload["text"] for item in outbox.items(storage, channel=f"C{n}")]
        assert texts == [f"C{n}-{i}" for i in range(25)]


# --- the queue ------------------------------------------------------------------------------------


def test_next_items_gives_each_channels_oldest_unsent_row(storage: Storage) -> None:
    a1 = post(storage, "C1", "a1")
    b1 = post(storage, "C2", "b1")
    a2 = post(storage, "C1", "a2")
    b2 = post(storage, "C2", "b2")
    c1 = post(storage, "C3", "c1")
    assert [item.id for item in outbox.next_items(storage)] == [a1, b1, c1]

    outbox.mark_sending(storage, a1, T0)
    assert [item.id for item in outbox.next_items(storage)] == [a1, b1, c1]  # still C1's head while in flight
    outbox.mark_sent(storage, a1, channel="C1", ts="1.1", now=T0)
    outbox.mark_failed(storage, b1, "invalid_blocks", T0)
    outbox.mark_sent(storage, c1, channel="C3", ts="1.2", now=T0)
    assert [item.id for item in outbox.next_items(storage)] == [a2, b2]
    assert outbox.pending_count(storage) == 2


def test_states_move_pending_sending_and_back_or_on(storage: Storage) -> None:
    item_id = post(storage, "C1", "hello", message_key="alert:1")
    assert outbox.mark_sending(storage, item_id, T0)
    item = outbox.get_item(storage, item_id)
    assert item is not None and (item.state, item.attempts, item.last_attempt_at) == ("sending", 1, T0)

    assert outbox.mark_retry(storage, item_id, T0 + 4, "HTTP 503 service_unavailable")
    item = outbox.get_item(storage, item_id)
    assert item is not None
    assert (item.state, item.next_attempt_at, item.error) == ("pending", T0 + 4, "HTTP 503 service_unavailable")

    outbox.mark_sending(storage, item_id, T0 + 4)
    assert outbox.mark_sent(storage, item_id, channel="C1", ts="1750000004.000100", now=T0 + 4.5)
    item = outbox.get_item(storage, item_id)
    assert item is not None
    assert (item.state, item.attempts, item.ts, item.finished_at) == ("sent", 2, "1750000004.000100", T0 + 4.5)
    # A finished row does not move again.
    assert not outbox.mark_sent(storage, item_id, channel="C1", ts="9.9", now=T0 + 5)
    assert not outbox.mark_retry(storage, item_id, T0 + 9, "late")
    assert not outbox.mark_failed(storage, item_id, "late", T0 + 9)
    assert outbox.sent_message(storage, "alert:1") == SentMessage("C1", "1750000004.000100")


def test_only_keyed_posts_register_a_message(storage: Storage) -> None:
    keyed = post(storage, "C1", "parent", message_key="alert:1")
    plain = post(storage, "C1", "plain")
    edit = outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "edited"}, target_key="alert:1", now=T0)
    outbox.mark_sent(storage, keyed, channel="C1", ts="1.1", now=T0)
    outbox.mark_sent(storage, plain, channel="C1", ts="1.2", now=T0)
    outbox.mark_sent(storage, edit, channel="C1", ts="1.1", now=T0)
    assert storage.db["sent_messages"].count == 1
    assert outbox.sent_message(storage, "alert:1") == SentMessage("C1", "1.1")
    assert outbox.sent_message(storage, "alert:2") is None


def test_a_later_post_under_the_same_key_replaces_the_message(storage: Storage) -> None:
    first = post(storage, "C1", "first", message_key="alert:1")
    outbox.mark_sent(storage, first, channel="C1", ts="1.1", now=T0)
    again = post(storage, "C1", "again", message_key="alert:1")
    outbox.mark_sent(storage, again, channel="C1", ts="2.2", now=T0 + 1)
    assert outbox.sent_message(storage, "alert:1") == SentMessage("C1", "2.2")


def test_key_status_follows_the_post_under_the_key(storage: Storage) -> None:
    assert outbox.key_status(storage, "alert:1") == KeyStatus("unknown")
    first = post(storage, "C1", "parent", message_key="alert:1")
    assert outbox.key_status(storage, "alert:1") == KeyStatus("waiting")
    outbox.mark_sending(storage, first, T0)
    assert outbox.key_status(storage, "alert:1") == KeyStatus("waiting")
    outbox.mark_failed(storage, first, "channel_not_found", T0)
    assert outbox.key_status(storage, "alert:1") == KeyStatus("failed", error="channel_not_found")
    # Posted again under the same key: waiting for the new post, then sent.
    second = post(storage, "C1", "parent again", message_key="alert:1")
    assert outbox.key_status(storage, "alert:1") == KeyStatus("waiting")
    outbox.mark_sent(storage, second, channel="C1", ts="3.3", now=T0)
    assert outbox.key_status(storage, "alert:1") == KeyStatus("sent", SentMessage("C1", "3.3"))


def test_recover_interrupted_puts_sending_rows_back(storage: Storage) -> None:
    a = post(storage, "C1", "a")
    b = post(storage, "C2", "b")
    outbox.mark_sending(storage, a, T0)
    recovered = outbox.recover_interrupted(storage)
    assert [item.id for item in recovered] == [a]
    item = outbox.get_item(storage, a)
    assert item is not None and (item.state, item.attempts) == ("pending", 1)
    assert outbox.get_item(storage, b).state == "pending"  # type: ignore[union-attr]
    assert outbox.recover_interrupted(storage) == []


def test_last_attempts_per_channel(storage: Storage) -> None:
    a1, a2, b1 = post(storage, "C1", "a1"), post(storage, "C1", "a2"), post(storage, "C2", "b1")
    post(storage, "C3", "never tried")
    outbox.mark_sending(storage, a1, T0)
    outbox.mark_sending(storage, a2, T0 + 1)
    outbox.mark_sending(storage, b1, T0 + 0.5)
    assert outbox.last_attempts(storage) == {"C1": T0 + 1, "C2": T0 + 0.5}


def test_prune_deletes_old_finished_rows_but_keeps_the_message_registry(storage: Storage) -> None:
    old = post(storage, "C1", "old", message_key="alert:1")
    failed = post(storage, "C1", "failed")
    recent = post(storage, "C1", "recent")
    waiting = post(storage, "C1", "waiting")
    outbox.mark_sent(storage, old, channel="C1", ts="1.1", now=T0)
    outbox.mark_failed(storage, failed, "msg_too_long", T0 + 1)
    outbox.mark_sent(storage, recent, channel="C1", ts="1.3", now=T0 + 100)
    assert outbox.prune(storage, finished_before=T0 + 50) == 2
    assert [item.id for item in outbox.items(storage)] == [recent, waiting]
    assert outbox.sent_message(storage, "alert:1") == SentMessage("C1", "1.1")


def test_items_filters_by_channel_and_state(storage: Storage) -> None:
    a = post(storage, "C1", "a")
    post(storage, "C2", "b")
    outbox.mark_failed(storage, a, "invalid_blocks", T0)
    assert [item.payload["text"] for item in outbox.items(storage, channel="C2")] == ["b"]
    assert [item.id for item in outbox.items(storage, state="failed")] == [a]
    with pytest.raises(ValueError, match="state 'lost'"):
        outbox.items(storage, state="lost")


def test_the_schema_refuses_inconsistent_rows(storage: Storage) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        storage.db.execute(
            "INSERT INTO outbox (channel, method, payload, state, enqueued_at, next_attempt_at) "
            "VALUES ('C1', 'chat.update', '{}', 'pending', 0, 0)"  # an edit without its target
        )
    with pytest.raises(sqlite3.IntegrityError):
        storage.db.execute(
            "INSERT INTO outbox (channel, method, payload, state, enqueued_at, next_attempt_at) "
            "VALUES ('C1', 'chat.postMessage', '{}', 'lost', 0, 0)"
        )


def test_the_queue_survives_reopening(tmp_path: Path) -> None:
    first = open_database(tmp_path / "warden.db", __version__)
    item_id = post(first, "C1", "hello", message_key="alert:1")
    first.close()
    again = open_database(tmp_path / "warden.db", __version__)
    try:
        assert [item.id for item in outbox.next_items(again)] == [item_id]
    finally:
        again.close()


def test_a_newer_edit_replaces_a_queued_edit_of_the_same_message(storage: Storage) -> None:
    post = outbox.enqueue(storage, "C1", outbox.POST, {"text": "alert"}, message_key="alert:1", now=T0)
    first = outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "owner 1"}, target_key="alert:1", now=T0)
    other = outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "another message"}, target_key="alert:2", now=T0)
    second = outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "owners 1 and 2"}, target_key="alert:1", now=T0)
    assert second == first and other != first
    assert [item.payload["text"] for item in outbox.items(storage)] == ["alert", "owners 1 and 2", "another message"]

    claimed = outbox.claim(storage, first, T0)  # being sent now: a newer edit queues behind it
    assert claimed is not None and claimed.payload == {"text": "owners 1 and 2"} and claimed.state == "sending"
    third = outbox.enqueue(storage, "C1", outbox.UPDATE, {"text": "owners 1-3"}, target_key="alert:1", now=T0)
    assert third not in (post, first, other)
    assert outbox.claim(storage, first, T0) is not None  # a row left sending may be claimed again after a restart
    outbox.mark_sent(storage, first, channel="C1", ts="1.0", now=T0)
    assert outbox.claim(storage, first, T0) is None


def test_parked_channels_name_the_error_and_what_waits(storage: Storage) -> None:
    head = outbox.enqueue(storage, "C1", outbox.POST, {"text": "one"}, now=T0)
    outbox.enqueue(storage, "C1", outbox.POST, {"text": "two"}, now=T0 + 1)
    outbox.enqueue(storage, "C2", outbox.POST, {"text": "fine"}, now=T0)
    assert outbox.mark_parked(storage, head, T0 + 300, "not_in_channel") is True
    assert outbox.mark_parked(storage, head, T0 + 600, "not_in_channel") is False  # already parked
    assert outbox.parked_channels(storage) == [outbox.ParkedChannel("C1", "not_in_channel", 2, T0)]
    assert outbox.retry_held(storage, T0 + 5, (outbox.PARKED,)) == 1
    assert outbox.get_item(storage, head).next_attempt_at == T0 + 5  # type: ignore[union-attr]
