"""The enqueue stage: alert state and the outbox items that announce it, written together.

Called inside the caller's storage transaction, so a crash never leaves a state change without its message,
nor a message without its state change. The delivery worker sends the items later, in the order written
here: thread replies, then new group messages, then edits of the messages whose alerts changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from bot.alerting.diff import REMINDER, REOPENED, RESOLVED, Change
from bot.alerting.render import MAX_SHOWN, details_reply, thread_reply
from bot.alerting.routing import Group
from storage import outbox
from storage.alerts import (
    AlertMessage,
    AlertRecord,
    add_messages,
    alerts_in_message,
    messages_of,
    save_alerts,
)
from storage.database import Storage

POST, UPDATE = "chat.postMessage", "chat.update"

Render = Callable[[str, str, Sequence[AlertRecord]], dict[str, Any]]  # (system, check, alerts) → group message


def enqueue(storage: Storage, changes: Sequence[Change], groups: Sequence[Group], now: float, render: Render) -> None:
    """Store every change, reply in the threads of the alerts that have something to say, post the new groups,
    and re-render the messages whose alerts reopened or resolved."""
    posted = {record.fingerprint for each in groups for record in each.alerts}
    states = []
    for change in changes:
        record = change.record
        reply = thread_reply(change, now)
        if reply is not None:
            reply_in_threads(storage, change.messages, reply, now)
            if change.event in (REOPENED, REMINDER):
                record = record.with_changes(last_notified_at=now)
        if record.fingerprint in posted:
            record = record.with_changes(last_notified_at=now)
        states.append((record, change.previous))
    save_alerts(storage, states)  # unchanged alerts are not rewritten
    for each in groups:
        post_group(storage, each, now, render)
    for key in messages_to_rerender(changes):
        rerender(storage, key, now, render)


def messages_to_rerender(changes: Sequence[Change]) -> list[str]:
    """The message keys whose alerts reopened or resolved, so their parent message shows it."""
    keys = {m.message_key for c in changes if c.event in (REOPENED, RESOLVED) for m in c.messages}
    return sorted(keys)


def reply_in_threads(storage: Storage, messages: Sequence[AlertMessage], payload: dict[str, Any], now: float) -> None:
    for message in messages:
        outbox.enqueue(storage, message.channel, POST, payload, thread_key=message.message_key, now=now)


def post_group(storage: Storage, group: Group, now: float, render: Render) -> None:
    """One new message for the group; its alerts live in it from now on (its key names the thread). The caller
    saves the alerts as told of `now`."""
    key = f"alerts:{uuid.uuid4().hex}"
    add_messages(storage, [AlertMessage(record.fingerprint, group.channel, key) for record in group.alerts])
    outbox.enqueue(
        storage, group.channel, POST, render(group.system, group.check, group.alerts), message_key=key, now=now
    )
    if len(group.alerts) > MAX_SHOWN:
        outbox.enqueue(storage, group.channel, POST, details_reply(group.alerts), thread_key=key, now=now)


def rerender(storage: Storage, message_key: str, now: float, render: Render) -> None:
    """An edit of a posted message, showing its alerts as they are stored now."""
    alerts = alerts_in_message(storage, message_key)
    if not alerts:
        return
    channel = next(m.channel for m in messages_of(storage, alerts[0].fingerprint) if m.message_key == message_key)
    payload = render(alerts[0].system, alerts[0].check, alerts)
    outbox.enqueue(storage, channel, UPDATE, payload, target_key=message_key, now=now)
