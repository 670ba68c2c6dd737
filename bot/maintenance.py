"""Keeping the database small: what is older than [storage] retention, the oldest check runs beyond a count
per check, and expired owner look-ups."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.trace import Tracer
from storage import Storage, retention
from storage.check_runs import prune_runs

log = logging.getLogger(__name__)

KEEP_RUNS_PER_CHECK = 500


class Maintenance:
    def __init__(self, storage: Storage, tracer: Tracer, clock: Callable[[], float], retention_seconds: float) -> None:
        self.storage = storage
        self.tracer = tracer
        self.clock = clock
        self.retention_seconds = retention_seconds

    def run(self) -> None:
        pruned = retention.prune(self.storage, self.clock() - self.retention_seconds)
        pruned["check_runs"] += prune_runs(self.storage, keep_per_check=KEEP_RUNS_PER_CHECK)
        pruned["rdap_cache"] = self.tracer.prune()
        if any(pruned.values()):
            log.info("maintenance pruned %s", ", ".join(f"{count} {table}" for table, count in pruned.items() if count))
