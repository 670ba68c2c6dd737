"""The audit log's key and its anchor outside the bot host.

`attach_audit_key` makes the storage write audit rows with WARDEN_AUDIT_KEY (HMAC-SHA256), or
refuses, before anything runs, a keyed log without its key. `anchor_head` posts the audit head,
``audit head SEQ:HASH at TIME``, to ``[slack] audit_channel`` through the outbox and records that
it did (storage/audit_anchors.py): once per new head, and again when the last anchor is a day
old. The scheduler calls `post_scheduled_anchor` every `ANCHOR_INTERVAL_MINUTES`, so the rows of a
batch of decisions are anchored within minutes of being written. Anyone can then check the log
on the bot host against a head copied from Slack: ``ibmi-warden audit --verify --head SEQ:HASH``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.config import Config, Secrets
from storage import audit, audit_anchors, outbox
from storage.audit import iso_utc
from storage.audit_anchors import Anchor
from storage.database import Storage

log = logging.getLogger(__name__)

ANCHOR_INTERVAL_MINUTES = 5
REANCHOR_AFTER = 86400.0  # seconds: an unchanged head is posted again after a day


def attach_audit_key(storage: Storage, secrets: Secrets) -> None:
    """Write audit rows keyed with WARDEN_AUDIT_KEY when it is set.

    Raises ConfigError for a key too short, AuditKeyError (a StorageError) when the log is keyed
    and the key is unset or another one.
    """
    audit.use_key(storage, secrets.audit_key_bytes())


def anchor_message(seq: int, head_hash: str, at: float, keyed: bool) -> dict[str, Any]:
    """The chat.postMessage arguments of one anchor: plain text, the head first so it is easy to copy."""
    mode = "HMAC-SHA256 with WARDEN_AUDIT_KEY" if keyed else "SHA-256, unkeyed"
    head = audit_anchors.format_head(seq, head_hash)
    return {
        "text": (
            f"audit head {head} at {iso_utc(at)} ({mode})\n"
            f"To prove the log on the bot host still holds these {seq} rows unchanged: "
            f"`ibmi-warden audit --verify --head {head}`"
        ),
        "unfurl_links": False,
    }


def anchor_head(storage: Storage, config: Config, now: float) -> Anchor | None:
    """Post the head to the audit channel when it moved since the last anchor, or that one is a day old.

    Returns the anchor recorded, or None when nothing was posted (no audit channel, an empty log,
    or the head was anchored less than a day ago).
    """
    channel = config.slack.audit_channel
    if channel is None:
        return None
    with storage.transaction():
        head = audit_anchors.current_head(storage)
        if head is None or head[0] == 0:
            return None
        seq, head_hash = head
        last = audit_anchors.latest(storage)
        if last is not None and (last.seq, last.hash) == head and now - last.at < REANCHOR_AFTER:
            return None
        payload = anchor_message(seq, head_hash, now, keyed=storage.audit_key is not None)
        item_id = outbox.enqueue(storage, channel, outbox.POST, payload, now=now)
        return audit_anchors.record(storage, seq, head_hash, now, channel, item_id)


def post_scheduled_anchor(
    storage: Storage, config: Config, clock: Callable[[], float], wake: Callable[[], None]
) -> None:
    """The scheduler's job: anchor the head if due, then wake the delivery worker."""
    anchor = anchor_head(storage, config, clock())
    if anchor is None:
        return
    log.info("audit head %s queued for %s (outbox item %s)", anchor.head, anchor.channel, anchor.outbox_id)
    wake()
