"""When each system's checks are due: one entry per system and group of checks sharing an interval (they read
their sources once). A due run is only put in the system's lane (bot.lanes), so the schedule itself never
waits for IBM i and never skips a run: a run that falls due while the previous one still waits is merged into
it and runs as soon as the system is free. Each run's lateness (start minus due time) is recorded with it."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.lanes import Lanes

log = logging.getLogger(__name__)

MAX_FIRST_DELAY = 30.0  # seconds: the first runs are spread over up to a tenth of their interval, at most this


class ScheduledChecks(Protocol):
    def check_groups(self, system: str) -> dict[float, list[str]]: ...

    def run_checks(self, system: str, checks: Sequence[str], lateness: float | None = None) -> object: ...


@dataclass
class _Entry:
    system: str
    checks: tuple[str, ...]
    interval: float
    due: float  # seconds since the epoch

    @property
    def key(self) -> str:
        return "+".join(self.checks)


def late_after(interval: float) -> float:
    """A run starting later than this after its due time is logged as late."""
    return max(1.0, interval / 10)


class CheckSchedule:
    """`tick()` puts every due run in its system's lane; `start()` ticks on a thread of its own until `stop()`.
    `spread` gives each first run's delay from its interval (random by default; tests pass a fixed one)."""

    def __init__(
        self,
        systems: Sequence[str],
        checks: ScheduledChecks,
        lanes: Lanes,
        spread: Callable[[float], float] | None = None,
    ) -> None:
        self.checks = checks
        self.lanes = lanes
        spread = spread or (lambda interval: random.uniform(1.0, max(1.0, min(MAX_FIRST_DELAY, interval / 10))))
        now = lanes.clock()
        self.entries = [
            _Entry(system, tuple(group), interval, now + spread(interval))
            for system in systems
            for interval, group in checks.check_groups(system).items()
        ]
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> float:
        """Queue every run now due; returns the seconds until the next one falls due."""
        now = self.lanes.clock()
        for entry in self.entries:
            if entry.due > now:
                continue
            queued = self.lanes.schedule(entry.system, entry.key, entry.due, self._runner(entry))
            if not queued:
                log.warning(
                    "%s/%s due again while its last due run still waits for the system; they run once, when it is free",
                    entry.system,
                    entry.key,
                )
            missed = 0
            while entry.due <= now:
                entry.due += entry.interval
                missed += 1
            if missed > 1:  # the schedule itself fell behind (a suspended host, say): one run stands for them all
                log.warning("%s/%s: %d due runs merged into one", entry.system, entry.key, missed)
        return max(0.0, min((entry.due for entry in self.entries), default=60.0) - now)

    def _runner(self, entry: _Entry) -> Callable[[float], None]:
        def run(lateness: float) -> None:
            if lateness > late_after(entry.interval):
                log.warning("%s/%s started %.1fs late (the system was busy)", entry.system, entry.key, lateness)
            self.checks.run_checks(entry.system, entry.checks, lateness=lateness)

        return run

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="check-schedule", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        wait = 0.0
        while not self._stopped.wait(min(wait, 60.0)):
            try:
                wait = self.tick()
            except Exception:
                log.exception("scheduling the checks failed")
                wait = 1.0

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
