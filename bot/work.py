"""Where the bot's slow work runs, off the threads that answer Slack: work that talks to one IBM i in that
system's lane (bot.lanes), everything else (storage, RDAP, Slack) on a small shared pool. Stops within a bound."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from bot.lanes import Lanes, SystemBusy

log = logging.getLogger(__name__)


class Work:
    def __init__(self, lanes: Lanes, shared_threads: int) -> None:
        self.lanes = lanes
        self._pool = ThreadPoolExecutor(max_workers=shared_threads, thread_name_prefix="warden-work")
        self._running: set[Future[Any]] = set()
        self._guard = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """On the shared pool: work that waits for no IBM i."""
        future = self._pool.submit(fn, *args)
        with self._guard:
            self._running.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._guard:
            self._running.discard(future)

    def submit_for(self, system: str, what: str, job: Callable[[], None]) -> None:
        """In the system's lane; raises SystemBusy when it has as many commands waiting as it accepts."""
        self.lanes.submit(system, what, job)

    def busy(self, system: str) -> SystemBusy | None:
        """SystemBusy when work for `system` would now be refused; None also for a system not configured."""
        try:
            return self.lanes.busy(system)
        except KeyError:
            return None

    def stop(self, timeout: float) -> bool:
        """Drop the shared work still waiting and wait at most `timeout` seconds for what runs."""
        started = time.monotonic()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._guard:
            running = set(self._running)
        _, left = wait(running, timeout=max(0.0, timeout - (time.monotonic() - started)))
        if left:
            log.error("%d piece(s) of shared work still running at stop; left behind", len(left))
        return not left
