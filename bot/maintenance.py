"""Keeping the database small: old check runs, delivered outbox rows and expired owner look-ups."""

from __future__ import annotations

from collections.abc import Callable

from bot.trace import Tracer
from storage import Storage, outbox
from storage.check_runs import prune_runs

KEEP_RUNS_PER_CHECK = 500
KEEP_DELIVERED_SECONDS = 14 * 86400


class Maintenance:
    def __init__(self, storage: Storage, tracer: Tracer, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.tracer = tracer
        self.clock = clock

    def run(self) -> None:
        prune_runs(self.storage, keep_per_check=KEEP_RUNS_PER_CHECK)
        outbox.prune(self.storage, self.clock() - KEEP_DELIVERED_SECONDS)
        self.tracer.prune()
