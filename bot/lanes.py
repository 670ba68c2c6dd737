"""Bulkheads: each IBM i system has its own lane, so a slow or hung system delays only itself.

A lane runs one piece of its system's work at a time (the system's connection serves one caller at a time
anyway), in the order it arrived. Commands wait in a bounded queue: past `max_waiting` they are refused with
`SystemBusy` instead of piling up. A scheduled run waits at most once per (system, group of checks): a run that
falls due while the same one is still waiting is merged into it (coalesced), never dropped. At most
`max_parallel` lanes work at once, taken in turn, so every system gets its share. A person waits for a command:
in its lane it goes before the scheduled runs waiting there, and one worker is kept from scheduled runs, so a
command never waits for a fleet's checks (only for what its own system is doing).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class SystemBusy(Exception):
    """The system's lane has as many commands waiting as it accepts."""

    def __init__(self, system: str, waiting: int) -> None:
        self.system = system
        self.waiting = waiting
        super().__init__(f"{system} is busy ({waiting} waiting); try again in a moment.")


class LanesStopped(Exception):
    """The bot is stopping: no new work is accepted."""


@dataclass
class _Item:
    what: str  # for the log: "netstat", "unknown-connections+plaintext-services", …
    run: Callable[[float], None]  # called with the item's lateness in seconds
    due: float  # when it was due (seconds since the epoch)
    key: str | None = None  # a scheduled run's key; None for a command
    merged: int = 0  # due runs coalesced into this one


@dataclass
class _Lane:
    system: str
    waiting: deque[_Item] = field(default_factory=deque)
    running: _Item | None = None

    def commands_waiting(self) -> int:
        return sum(1 for item in self.waiting if item.key is None)


class Lanes:
    """One lane per system; `max_parallel` worker threads (started with the first piece of work) take ready
    lanes in turn. `clock` gives seconds since the epoch (tests inject one)."""

    def __init__(
        self,
        systems: Iterable[str],
        max_parallel: int,
        max_waiting: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_parallel < 1 or max_waiting < 1:
            raise ValueError("max_parallel and max_waiting must be at least 1")
        self._lanes = {name.upper(): _Lane(name) for name in systems}
        self.max_parallel = max_parallel
        self.max_waiting = max_waiting
        self.clock = clock
        self._ready: deque[_Lane] = deque()  # lanes with work waiting and none running, oldest first
        self._changed = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._scheduled_running = 0
        self._scheduled_limit = max(1, max_parallel - 1)  # one worker kept for commands
        self._stopping = False

    def submit(self, system: str, what: str, job: Callable[[], None]) -> None:
        """Queue a command's work on the system's lane. Raises SystemBusy when `max_waiting` commands already
        wait there, LanesStopped once stopping, KeyError for a system that is not configured."""
        with self._changed:
            lane = self._lane(system)
            waiting = lane.commands_waiting()
            if waiting >= self.max_waiting:
                log.warning("%s is busy: %d command(s) waiting; %s refused", lane.system, waiting, what)
                raise SystemBusy(lane.system, waiting)
            self._add(lane, _Item(what, lambda _lateness: job(), self.clock()))

    def busy(self, system: str) -> SystemBusy | None:
        """SystemBusy when a command submitted now would be refused."""
        with self._changed:
            lane = self._lane(system)
            waiting = lane.commands_waiting()
            return SystemBusy(lane.system, waiting) if waiting >= self.max_waiting else None

    def schedule(self, system: str, key: str, due: float, run: Callable[[float], None]) -> bool:
        """Queue a scheduled run due at `due`, called with its lateness once it starts. When the same run
        (same `key`) is still waiting, the two are one run, as late as the first: returns False."""
        with self._changed:
            lane = self._lane(system)
            waiting = next((item for item in lane.waiting if item.key == key), None)
            if waiting is not None:
                waiting.merged += 1
                return False
            self._add(lane, _Item(key, run, due, key))
            return True

    def waiting(self, system: str) -> int:
        """Pieces of work waiting in the system's lane (not counting the one running)."""
        with self._changed:
            return len(self._lane(system).waiting)

    def running(self) -> dict[str, str]:
        """What each working lane is doing, by system."""
        with self._changed:
            return {lane.system: lane.running.what for lane in self._lanes.values() if lane.running is not None}

    def stop(self, timeout: float, abandon: Callable[[], None] = lambda: None) -> bool:
        """Accept no more work, drop what waits, call `abandon` (which makes running IBM i calls give up) and
        wait at most `timeout` seconds for the running pieces to end. True when every one ended."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._stopping = True
            for lane in self._lanes.values():
                for item in lane.waiting:
                    log.info("%s: %s not run: the bot is stopping", lane.system, item.what)
                lane.waiting.clear()
            self._ready.clear()
            self._changed.notify_all()
        abandon()
        with self._changed:
            ended = self._changed.wait_for(
                lambda: all(lane.running is None for lane in self._lanes.values()),
                max(0.0, deadline - time.monotonic()),
            )
        for system, what in self.running().items():
            log.error("%s: %s still running at stop; left behind", system, what)
        return ended

    def _lane(self, system: str) -> _Lane:
        if self._stopping:
            raise LanesStopped("the bot is stopping")
        return self._lanes[system.upper()]

    def _add(self, lane: _Lane, item: _Item) -> None:
        """Under the condition's lock. A command goes behind the lane's commands, before its scheduled runs."""
        if item.key is None:
            lane.waiting.insert(lane.commands_waiting(), item)
        else:
            lane.waiting.append(item)
        if lane.running is None and len(lane.waiting) == 1:
            self._ready.append(lane)
        self._changed.notify_all()
        if len(self._workers) < self.max_parallel:
            self._start_worker()

    def _next_lane(self) -> _Lane | None:
        """Under the lock: the first ready lane with a command next, else (while a worker may take one) the
        first ready lane."""
        for lane in self._ready:
            if lane.waiting[0].key is None:
                self._ready.remove(lane)
                return lane
        if self._ready and self._scheduled_running < self._scheduled_limit:
            return self._ready.popleft()
        return None

    def _start_worker(self) -> None:
        worker = threading.Thread(target=self._work, name=f"lane-worker-{len(self._workers)}", daemon=True)
        self._workers.append(worker)
        worker.start()

    def _work(self) -> None:
        while True:
            with self._changed:
                lane = None
                while not self._stopping and (lane := self._next_lane()) is None:
                    self._changed.wait()
                if lane is None:
                    return
                item = lane.running = lane.waiting.popleft()
                scheduled = item.key is not None
                self._scheduled_running += scheduled
            self._run(lane.system, item)
            with self._changed:
                self._scheduled_running -= scheduled
                lane.running = None
                if lane.waiting and not self._stopping:
                    self._ready.append(lane)  # behind the lanes already waiting: each system in turn
                self._changed.notify_all()

    def _run(self, system: str, item: _Item) -> None:
        lateness = max(0.0, self.clock() - item.due)
        if item.merged:
            log.warning(
                "%s/%s: %d more due run(s) merged into one, %.1fs late (the system was busy)",
                system,
                item.what,
                item.merged,
                lateness,
            )
        try:
            item.run(lateness)
        except Exception:
            log.exception("%s: %s failed", system, item.what)
