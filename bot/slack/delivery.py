"""The delivery worker: sends the outbox (storage/outbox.py) to Slack, paced, in order, retried.

Everything the bot posts or edits is first enqueued in the outbox, usually in the same
transaction as the state change it reports ("durable first, then Slack"). The worker then:

- sends each channel's rows strictly in enqueue order: a row goes only once every earlier row of
  its channel was sent or failed permanently; channels do not wait for each other;
- makes at most one call per ``per_channel_interval`` seconds per channel (Slack allows about one
  message per second per channel; edits count too);
- records the ``ts`` of every post, and resolves ``thread_key`` / ``target_key`` to the recorded
  message when the row comes up: a reply goes to the parent's thread, an edit to the message;
  a row whose parent is still queued waits, one whose parent failed permanently (or was never
  enqueued) fails too, and the log says so;
- retries what Slack may accept later: 429 after ``Retry-After`` (1 s when absent), 5xx and
  connection errors after 1, 2, 4 … seconds (capped at ``max_backoff``); the row keeps its place,
  so its channel waits with it. Any other Slack error (``channel_not_found``, ``invalid_blocks``,
  ``msg_too_long``, ``invalid_auth`` …) fails the row permanently, and its channel moves on.

Retries are the worker's, not slack_sdk's: the worker works on a copy of the given client with no
retry handlers (the caller's client, which Bolt may share, keeps its own). Its waits then follow the
injected clock and are stored, so they survive a restart, and a slow retry never holds up other
channels inside an HTTP call.

Durability: a row is marked ``sending`` (committed) before its API call and ``sent`` with Slack's
``ts`` after it, so a restart never resends a row recorded as sent. A row still ``sending`` when a
worker starts belongs to a process that stopped mid-call; it is sent again. If that process stopped
after Slack had accepted the message but before the ``ts`` was written, the message appears twice:
the bot cannot ask Slack whether it was delivered, and a duplicated alert is a nuisance where a lost
one could be a missed intrusion. The same holds for a connection that drops after Slack accepted
the request. Run one worker per database.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from storage import outbox
from storage.database import Storage
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

# Slack error names that mean "try again later" even when the HTTP status is 200.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
)
DEFAULT_RETRY_AFTER = 1.0
WAITING_RECHECK = 5.0  # how soon a row waiting for its parent is looked at again (when nothing else wakes it)
MAX_IDLE = 30.0  # the thread looks at the outbox at least this often, whatever the clock says
MIN_PAUSE = 0.01  # never spin: the shortest wait between two passes of the thread


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """Wall-clock time (``time.time()``), so stored due times stay meaningful across a restart."""

    def now(self) -> float:
        return time.time()


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class _Outcome:
    changed: bool  # the row was sent, failed or rescheduled
    called: bool = False  # an API call was made (counts for pacing)
    sent: bool = False


_WAITING = _Outcome(changed=False)


def worker_client(client: WebClient) -> WebClient:
    """A copy of ``client`` that never retries by itself (same token, base URL, timeout, proxy …)."""
    copied = copy.copy(client)
    copied.retry_handlers = []
    return copied


class DeliveryWorker:
    """Sends the outbox: call ``deliver_due`` yourself (tests) or ``start`` the background thread."""

    def __init__(
        self,
        storage: Storage,
        client: WebClient,
        clock: Clock = SYSTEM_CLOCK,
        per_channel_interval: float = 1.0,
        max_backoff: float = 300.0,
    ) -> None:
        if per_channel_interval < 0:
            raise ValueError(f"per_channel_interval must be 0 or more, not {per_channel_interval}")
        if max_backoff < 1:
            raise ValueError(f"max_backoff must be at least 1 second, not {max_backoff}")
        self.storage = storage
        self.client = worker_client(client)
        self.clock = clock
        self.per_channel_interval = per_channel_interval
        self.max_backoff = max_backoff
        self._pass_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting_since: dict[int, float] = {}
        for item in outbox.recover_interrupted(storage):
            log.warning(
                "%s was being sent when the bot stopped; sending it again (Slack may show it twice)",
                item.describe(),
            )
        self._last_call: dict[str, float] = outbox.last_attempts(storage)

    # one pass ----------------------------------------------------------------------------------
    def deliver_due(self) -> int:
        """Send every row that is due now (at most one call per channel); return how many were sent."""
        return self._deliver(None)

    def _deliver(self, stopping: threading.Event | None) -> int:
        with self._pass_lock:
            sent = 0
            called: set[str] = set()
            progress = True
            while progress:
                # Another round after any change: a row that failed without a call frees its
                # channel, and a parent sent in this round frees its replies in other channels.
                progress = False
                for item in outbox.next_items(self.storage):
                    if stopping is not None and stopping.is_set():
                        return sent
                    if item.channel in called or self._due_at(item) > self.clock.now():
                        continue
                    outcome = self._attempt(item)
                    if outcome.called:
                        called.add(item.channel)
                    sent += outcome.sent
                    progress = progress or outcome.changed
            return sent

    def next_wakeup(self) -> float | None:
        """The clock time when a row is next due; None when nothing is pending."""
        heads = outbox.next_items(self.storage)
        if not heads:
            return None
        return min(self._due_at(item, for_wakeup=True) for item in heads)

    # the thread --------------------------------------------------------------------------------
    def start(self) -> None:
        """Deliver in a daemon thread until ``stop``; ``wake`` after enqueueing for prompt delivery."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="slack-delivery", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was enqueued: look at the outbox now rather than at the next due time."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread after its current call (a call in flight is not interrupted)."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the Slack delivery thread is still in a call after %.0f s; leaving it", timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._deliver(self._stopping)
                wakeup = self.next_wakeup()
            except Exception:
                log.exception("a Slack delivery pass failed; trying again in %.0f s", MAX_IDLE)
                wakeup = None
            pause = MAX_IDLE if wakeup is None else min(max(wakeup - self.clock.now(), MIN_PAUSE), MAX_IDLE)
            self._wake.wait(pause)
            self._wake.clear()

    # one row -----------------------------------------------------------------------------------
    def _due_at(self, item: OutboxItem, *, for_wakeup: bool = False) -> float:
        due = max(item.next_attempt_at, self._last_call.get(item.channel, float("-inf")) + self.per_channel_interval)
        if for_wakeup and item.id in self._waiting_since:
            due = max(due, self._waiting_since[item.id] + WAITING_RECHECK)
        return due

    def _attempt(self, item: OutboxItem) -> _Outcome:
        arguments: dict[str, Any] = dict(item.payload)
        arguments["channel"] = item.channel
        key = item.reference_key
        if key is not None:
            status = outbox.key_status(self.storage, key)
            if status.state == "waiting":
                self._waiting_since.setdefault(item.id, self.clock.now())
                return _WAITING
            self._waiting_since.pop(item.id, None)
            if status.message is None:
                return self._fail_for_parent(item, key, status)
            # Replies and edits go where Slack put the parent (its channel id, also for a DM).
            arguments["channel"] = status.message.channel
            arguments["ts" if item.method == outbox.UPDATE else "thread_ts"] = status.message.ts

        now = self.clock.now()
        if not outbox.mark_sending(self.storage, item.id, now):
            return _Outcome(changed=True)  # no longer pending: nothing to send
        self._last_call[item.channel] = now
        attempts = item.attempts + 1
        try:
            if item.method == outbox.UPDATE:
                response = self.client.chat_update(**arguments)
            else:
                response = self.client.chat_postMessage(**arguments)
        except SlackApiError as exc:
            return self._slack_error(item, attempts, exc)
        except (OSError, HTTPException) as exc:  # URLError, ConnectionError, RemoteDisconnected, timeouts
            return self._retry_later(item, attempts, f"connection error: {type(exc).__name__}: {exc}")
        except Exception as exc:  # unexpected: keep the row (never lose an alert), but say so loudly
            log.exception("%s: unexpected error from the Slack client", item.describe())
            return self._retry_later(item, attempts, f"unexpected error: {type(exc).__name__}: {exc}")

        channel = str(response.get("channel") or arguments["channel"])
        ts = str(response.get("ts") or arguments.get("ts") or "")
        outbox.mark_sent(self.storage, item.id, channel=channel, ts=ts, now=self.clock.now())
        log.debug("%s sent: ts %s", item.describe(), ts)
        return _Outcome(changed=True, called=True, sent=True)

    def _slack_error(self, item: OutboxItem, attempts: int, exc: SlackApiError) -> _Outcome:
        response = exc.response
        status = getattr(response, "status_code", None)
        error = str(response.get("error") or "unknown_error") if response is not None else "unknown_error"
        described = f"HTTP {status} {error}" if status and status != 200 else error
        if status == 429 or error == "ratelimited":
            delay = _retry_after(getattr(response, "headers", None) or {})
            return self._retry_later(item, attempts, f"rate limited ({described})", delay=delay)
        if (status is not None and status >= 500) or error in TRANSIENT_ERRORS:
            return self._retry_later(item, attempts, described)
        return self._fail(item, described)

    def _retry_later(self, item: OutboxItem, attempts: int, error: str, *, delay: float | None = None) -> _Outcome:
        if delay is None:
            delay = min(self.max_backoff, 2.0 ** (max(attempts, 1) - 1))
        outbox.mark_retry(self.storage, item.id, self.clock.now() + delay, error)
        log.warning("%s failed (attempt %d): %s; trying again in %g s", item.describe(), attempts, error, delay)
        return _Outcome(changed=True, called=True)

    def _fail(self, item: OutboxItem, error: str) -> _Outcome:
        outbox.mark_failed(self.storage, item.id, error, self.clock.now())
        log.error("%s failed permanently: %s; it will not be tried again, the channel moves on", item.describe(), error)
        return _Outcome(changed=True, called=True)

    def _fail_for_parent(self, item: OutboxItem, key: str, status: outbox.KeyStatus) -> _Outcome:
        what = "edit" if item.method == outbox.UPDATE else "reply"
        if status.state == "failed":
            error = f"the message {key!r} this {what} refers to was never sent: its post failed ({status.error})"
        else:
            error = f"the message {key!r} this {what} refers to was never sent: nothing was enqueued under that key"
        outbox.mark_failed(self.storage, item.id, error, self.clock.now())
        log.error("%s failed permanently: %s", item.describe(), error)
        return _Outcome(changed=True)


def _retry_after(headers: dict[str, Any]) -> float:
    for name, value in headers.items():
        if name.lower() != "retry-after":
            continue
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        try:
            return max(float(value), 0.0)
        except (TypeError, ValueError):
            break  # an HTTP date or garbage: use the default
    return DEFAULT_RETRY_AFTER
