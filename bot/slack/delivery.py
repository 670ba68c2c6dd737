"""The delivery worker: sends the outbox (storage/outbox.py) to Slack, paced, in order, retried, concurrently.

Everything the bot posts or edits is first enqueued in the outbox, usually in the same
transaction as the state change it reports ("durable first, then Slack"). The worker then:

- sends each channel's rows strictly in enqueue order: a row goes only once every earlier row of
  its channel was sent or failed; channels do not wait for each other: up to ``concurrency``
  channels have a call in flight at once (each on a thread of a small pool), one call per channel;
- makes at most one call per ``per_channel_interval`` seconds per channel (Slack allows about one
  message per second per channel; edits count too);
- records the ``ts`` of every post, and resolves ``thread_key`` / ``target_key`` to the recorded
  message when the row comes up: a reply goes to the parent's thread, an edit to the message;
  a row whose parent is still queued (or parked) waits, one whose parent failed for good (or was never
  enqueued) fails too, and the log says so;
- retries what Slack may accept later: 429 after ``Retry-After`` (1 s when absent), which neither counts as
  an attempt nor grows the backoff; 5xx and connection errors after 1, 2, 4 … seconds, capped at
  ``max_backoff`` (60 s) and back to 1 s once the channel's next call succeeds;
- parks a row Slack refused for a reason a person must fix (``not_in_channel``, ``channel_not_found``,
  ``is_archived``, ``invalid_auth``, ``token_revoked`` … see parking.py): it keeps its place, so its channel
  and its replies and edits wait behind it; the log says so at ERROR naming the fix, a notice goes to
  ``fallback_channel`` when one is configured, and the row is tried again every ``park_retry`` seconds, at
  once when ``retry_parked`` is called (the bot was invited to a channel) and at every start;
- fails only a row whose content Slack refuses (``invalid_blocks``, ``msg_too_long`` …): its channel moves on.

Retries are the worker's, not slack_sdk's: the worker works on a copy of the given client with no
retry handlers (the caller's client, which Bolt may share, keeps its own). Its waits then follow the
injected clock and are stored, so a rate limit survives a restart; a transient backoff or a parked row is
tried again at once when the worker starts (the restart may be the fix).

Durability: a row is marked ``sending`` (committed) before its API call and ``sent`` with Slack's
``ts`` after it, so a restart never resends a row recorded as sent. When that record cannot be written
(the database is locked), the worker retries the write, and until it succeeds remembers that Slack
accepted the row: it is never sent twice while the process runs. A row still ``sending`` when a
worker starts belongs to a process that stopped mid-call; it is sent again. If that process stopped
after Slack had accepted the message but before the ``ts`` was written, the message appears twice:
the bot cannot ask Slack whether it was delivered, and a duplicated alert is a nuisance where a lost
one could be a missed intrusion. The same holds for a connection that drops after Slack accepted
the request. Run one worker per database.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.client import without_retries
from bot.slack.parking import CHANNEL_ERRORS, PARK_ERRORS, fix_for
from storage import outbox
from storage.database import Storage
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

# Slack error names that mean "try again later" even when the HTTP status is 200.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
)
DEFAULT_RETRY_AFTER = 1.0
DEFAULT_MAX_BACKOFF = 60.0
DEFAULT_PARK_RETRY = 300.0  # a parked row is tried again this often (and at once when retry_parked is called)
DEFAULT_CONCURRENCY = 8  # channels with a call in flight at once
WAITING_RECHECK = 5.0  # how soon a row waiting for its parent is looked at again (when nothing else wakes it)
MAX_IDLE = 30.0  # the thread looks at the outbox at least this often, whatever the clock says
MIN_PAUSE = 0.01  # never spin: the shortest wait between two passes of the thread
# Waits between attempts to record a post Slack accepted (the database may be locked for a while).
RECORD_RETRY_WAITS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 2.0, 5.0, 5.0, 5.0)


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
    sent: bool = False


_WAITING = _Outcome(changed=False)
_CHANGED = _Outcome(changed=True)


def worker_client(client: WebClient) -> WebClient:
    """A copy of ``client`` that never retries by itself (same token, base URL, timeout, proxy …)."""
    return without_retries(client)


class _Pool:
    """A few daemon threads running calls: a call hung in Slack never holds up the process's exit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._work, name=f"slack-delivery-{len(self._threads) + 1}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        self._jobs.put((job, future))
        return future

    def _work(self) -> None:
        while (task := self._jobs.get()) is not None:
            job, future = task
            try:
                future.set_result(job())
            except BaseException as exc:  # the job logs its own errors; the future carries any other
                future.set_exception(exc)

    def shutdown(self) -> None:
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)


class DeliveryWorker:
    """Sends the outbox: call ``deliver_due`` yourself (tests) or ``start`` the background thread."""

    def __init__(
        self,
        storage: Storage,
        client: WebClient,
        clock: Clock = SYSTEM_CLOCK,
        per_channel_interval: float = 1.0,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        park_retry: float = DEFAULT_PARK_RETRY,
        fallback_channel: str | None = None,
        pause: Callable[[float], object] | None = None,
        on_posted: Callable[[str, str, str], object] | None = None,
    ) -> None:
        if per_channel_interval < 0:
            raise ValueError(f"per_channel_interval must be 0 or more, not {per_channel_interval}")
        if max_backoff < 1:
            raise ValueError(f"max_backoff must be at least 1 second, not {max_backoff}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.storage = storage
        self.client = worker_client(client)
        self.clock = clock
        self.per_channel_interval = per_channel_interval
        self.max_backoff = max_backoff
        self.park_retry = park_retry
        self.fallback_channel = fallback_channel
        self.on_posted = on_posted  # (message_key, channel, ts) of each keyed post once recorded
        self._stopping = threading.Event()
        self._pause = pause or self._stopping.wait  # between attempts to record a post Slack accepted
        self._pool = _Pool(concurrency)
        self._pass_lock = threading.Lock()
        self._state = threading.Lock()  # guards the dictionaries and the set below
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting_since: dict[int, float] = {}
        self._in_flight: set[str] = set()  # channels with a call (or its bookkeeping) under way
        self._failures: dict[str, int] = {}  # transient failures in a row, per channel (the backoff)
        self._accepted: dict[int, tuple[str, str]] = {}  # rows Slack accepted whose record is not written yet
        for item in outbox.recover_interrupted(storage):
            log.warning(
                "%s was being sent when the bot stopped; sending it again (Slack may show it twice)",
                item.describe(),
            )
        retried = outbox.retry_held(storage, clock.now())
        if retried:
            log.info("%d Slack message(s) waiting after errors are tried again now that the bot started", retried)
        self._last_call: dict[str, float] = outbox.last_attempts(storage)

    # one pass ----------------------------------------------------------------------------------
    def deliver_due(self) -> int:
        """Send every row that is due now (at most one call per channel, channels concurrently) and wait for
        the calls; return how many rows were sent."""
        with self._pass_lock:
            sent = 0
            called: set[str] = set()
            while True:
                # Another round after any change: a row that failed without a call frees its
                # channel, and a parent sent in this round frees its replies in other channels.
                started, changed = self._start_due(called)
                for future in started:
                    sent += future.result().sent
                if not started and not changed:
                    return sent

    def next_wakeup(self) -> float | None:
        """The clock time when a row is next due; None when nothing is pending (or only rows being sent)."""
        with self._state:
            busy = set(self._in_flight)
        heads = [item for item in outbox.next_items(self.storage) if item.channel not in busy]
        dues = [self._due_at(item, for_wakeup=True) for item in heads]
        return min(dues) if dues else None

    def retry_parked(self, reason: str = "") -> int:
        """The cause of parked rows may be fixed (the bot joined a channel): try them now; how many."""
        count = outbox.retry_held(self.storage, self.clock.now(), (outbox.PARKED,))
        if count:
            log.info("trying %d parked Slack message(s) again%s", count, f": {reason}" if reason else "")
        self.wake()
        return count

    def _start_due(
        self, called: set[str] | None, stopping: threading.Event | None = None
    ) -> tuple[list[Future[_Outcome]], bool]:
        """Start a call for each channel whose head row is due and has no call under way."""
        started: list[Future[_Outcome]] = []
        changed = False
        for item in outbox.next_items(self.storage):
            if stopping is not None and stopping.is_set():
                break
            with self._state:
                busy = item.channel in self._in_flight
            if busy or (called is not None and item.channel in called) or self._due_at(item) > self.clock.now():
                continue
            future = self._start(item)
            if isinstance(future, _Outcome):
                changed = changed or future.changed
                continue
            if called is not None:
                called.add(item.channel)
            started.append(future)
        return started, changed

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
        """Stop starting calls; wait up to ``timeout`` for the calls in flight (they are not interrupted)."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        deadline = time.monotonic() + timeout
        if thread is not None:
            thread.join(timeout)
        while self._busy() and time.monotonic() < deadline:
            self._wake.wait(0.05)
        if self._busy() or (thread is not None and thread.is_alive()):
            log.warning(
                "a Slack call is still in flight after %.0f s; leaving it (its row is sent again at the next start)",
                timeout,
            )
        self._pool.shutdown()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _busy(self) -> bool:
        with self._state:
            return bool(self._in_flight)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._pass_lock:
                    self._start_due(None, self._stopping)
                wakeup = self.next_wakeup()
            except Exception:
                log.exception("a Slack delivery pass failed; trying again in %.0f s", MAX_IDLE)
                wakeup = None
            pause = MAX_IDLE if wakeup is None else min(max(wakeup - self.clock.now(), MIN_PAUSE), MAX_IDLE)
            self._wake.wait(pause)
            self._wake.clear()

    # one row -----------------------------------------------------------------------------------
    def _due_at(self, item: OutboxItem, *, for_wakeup: bool = False) -> float:
        with self._state:
            last_call = self._last_call.get(item.channel, float("-inf"))
            waiting_since = self._waiting_since.get(item.id)
        if item.id in self._accepted:
            return item.next_attempt_at  # only its record is left to write: no call, no pacing
        due = max(item.next_attempt_at, last_call + self.per_channel_interval)
        if for_wakeup and waiting_since is not None:
            due = max(due, waiting_since + WAITING_RECHECK)
        return due

    def _start(self, item: OutboxItem) -> Future[_Outcome] | _Outcome:
        """Resolve the row's keys, claim it and hand its call to the pool; an _Outcome when no call is made."""
        if item.id in self._accepted:
            return self._launch(item.channel, lambda: self._record_accepted(item))
        keys: dict[str, str] = {}
        key = item.reference_key
        if key is not None:
            status = outbox.key_status(self.storage, key)
            if status.state == "waiting":
                with self._state:
                    self._waiting_since.setdefault(item.id, self.clock.now())
                return _WAITING
            with self._state:
                self._waiting_since.pop(item.id, None)
            if status.message is None:
                return self._fail_for_parent(item, key, status)
            # Replies and edits go where Slack put the parent (its channel id, also for a DM).
            keys["channel"] = status.message.channel
            keys["ts" if item.method == outbox.UPDATE else "thread_ts"] = status.message.ts
        now = self.clock.now()
        claimed = outbox.claim(self.storage, item.id, now)
        if claimed is None:
            return _CHANGED  # no longer pending: nothing to send
        with self._state:
            self._last_call[item.channel] = now
        arguments: dict[str, Any] = {**claimed.payload, "channel": claimed.channel, **keys}
        return self._launch(item.channel, lambda: self._call(claimed, arguments))

    def _launch(self, channel: str, job: Callable[[], _Outcome]) -> Future[_Outcome]:
        with self._state:
            self._in_flight.add(channel)

        def run() -> _Outcome:
            try:
                return job()
            finally:
                with self._state:
                    self._in_flight.discard(channel)
                self._wake.set()

        return self._pool.submit(run)

    def _call(self, item: OutboxItem, arguments: dict[str, Any]) -> _Outcome:
        try:
            if item.method == outbox.UPDATE:
                response = self.client.chat_update(**arguments)
            else:
                response = self.client.chat_postMessage(**arguments)
        except SlackApiError as exc:
            return self._slack_error(item, exc)
        except (OSError, HTTPException) as exc:  # URLError, ConnectionError, RemoteDisconnected, timeouts
            return self._back_off(item, f"connection error: {type(exc).__name__}: {exc}")
        except Exception as exc:  # unexpected: keep the row (never lose an alert), but say so loudly
            log.exception("%s: unexpected error from the Slack client", item.describe())
            return self._back_off(item, f"unexpected error: {type(exc).__name__}: {exc}")
        with self._state:
            self._failures.pop(item.channel, None)  # the channel recovered: the next backoff starts at 1 s
        channel = str(response.get("channel") or arguments["channel"])
        ts = str(response.get("ts") or arguments.get("ts") or "")
        with self._state:
            self._accepted[item.id] = (channel, ts)
        return self._record_accepted(item)

    def _record_accepted(self, item: OutboxItem) -> _Outcome:
        """Write that Slack accepted the row, retrying while the database refuses (never send it again)."""
        with self._state:
            channel, ts = self._accepted[item.id]
        for wait in (*RECORD_RETRY_WAITS, None):
            try:
                outbox.mark_sent(self.storage, item.id, channel=channel, ts=ts, now=self.clock.now())
            except Exception as exc:  # a locked or failing database: Slack has the message, so never resend it
                if wait is None:
                    log.error(
                        "%s was accepted by Slack (ts %s) but recording it failed: %s; it will not be sent again, "
                        "the record is tried again on the next pass",
                        item.describe(),
                        ts,
                        exc,
                    )
                    return _CHANGED
                log.warning("%s sent, recording it failed (%s); trying again in %g s", item.describe(), exc, wait)
                self._pause(wait)
                continue
            with self._state:
                self._accepted.pop(item.id, None)
            log.debug("%s sent: ts %s", item.describe(), ts)
            self._tell_posted(item, channel, ts)
            return _Outcome(changed=True, sent=True)
        raise AssertionError("unreachable")

    def _tell_posted(self, item: OutboxItem, channel: str, ts: str) -> None:
        if self.on_posted is None or item.method != outbox.POST or not item.message_key:
            return
        try:
            self.on_posted(item.message_key, channel, ts)
        except Exception:
            log.warning("%s sent; what follows a post failed", item.describe(), exc_info=True)

    def _slack_error(self, item: OutboxItem, exc: SlackApiError) -> _Outcome:
        response = exc.response
        status = getattr(response, "status_code", None)
        error = str(response.get("error") or "unknown_error") if response is not None else "unknown_error"
        described = f"HTTP {status} {error}" if status and status != 200 else error
        if status == 429 or error == "ratelimited":
            delay = _retry_after(getattr(response, "headers", None) or {})
            outbox.mark_retry(
                self.storage,
                item.id,
                self.clock.now() + delay,
                f"rate limited ({described})",
                hold=outbox.RATE_LIMITED,
                attempt=False,
            )
            log.info("%s rate limited by Slack; trying again in %g s", item.describe(), delay)
            return _CHANGED
        if (status is not None and status >= 500) or error in TRANSIENT_ERRORS:
            return self._back_off(item, described)
        if error in PARK_ERRORS:
            return self._park(item, error)
        return self._fail(item, described)

    def _back_off(self, item: OutboxItem, error: str) -> _Outcome:
        with self._state:
            failures = self._failures[item.channel] = self._failures.get(item.channel, 0) + 1
        delay = min(self.max_backoff, 2.0 ** (failures - 1))
        outbox.mark_retry(self.storage, item.id, self.clock.now() + delay, error)
        log.warning("%s failed (%d in a row): %s; trying again in %g s", item.describe(), failures, error, delay)
        return _CHANGED

    def _park(self, item: OutboxItem, error: str) -> _Outcome:
        fix = fix_for(error, item.channel)
        newly = outbox.mark_parked(self.storage, item.id, self.clock.now() + self.park_retry, error)
        waiting = len(outbox.items(self.storage, channel=item.channel, state="pending"))
        if newly:
            log.error(
                "Slack refused %s: %s. %d message(s) wait for %s, in order; fix: %s. They are tried again every "
                "%g s, at once when the bot joins a channel, and at every start",
                item.describe(),
                error,
                waiting,
                item.channel,
                fix,
                self.park_retry,
            )
            self._notify_fallback(item.channel, error, waiting, fix)
        else:
            log.warning("%s still refused by Slack: %s; fix: %s", item.describe(), error, fix)
        return _CHANGED

    def _notify_fallback(self, channel: str, error: str, waiting: int, fix: str) -> None:
        fallback = self.fallback_channel
        if fallback is None or fallback == channel or error not in CHANNEL_ERRORS:
            return
        text = (
            f":warning: ibmi-warden cannot post to {channel} ({error}): {waiting} message(s) wait there, "
            f"alerts included. Fix: {fix}. They are posted in order once it is fixed."
        )
        with self.storage.transaction():
            outbox.enqueue(self.storage, fallback, outbox.POST, {"text": text}, now=self.clock.now())
        self._wake.set()

    def _fail(self, item: OutboxItem, error: str) -> _Outcome:
        outbox.mark_failed(self.storage, item.id, error, self.clock.now())
        log.error("%s failed permanently: %s; it will not be tried again, the channel moves on", item.describe(), error)
        return _CHANGED

    def _fail_for_parent(self, item: OutboxItem, key: str, status: outbox.KeyStatus) -> _Outcome:
        what = "edit" if item.method == outbox.UPDATE else "reply"
        if status.state == "failed":
            error = f"the message {key!r} this {what} refers to was never sent: its post failed ({status.error})"
        else:
            error = f"the message {key!r} this {what} refers to was never sent: nothing was enqueued under that key"
        outbox.mark_failed(self.storage, item.id, error, self.clock.now())
        log.error("%s failed permanently: %s", item.describe(), error)
        return _CHANGED


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
