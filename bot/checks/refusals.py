"""Sources whose refusal IBM i audits are not asked again every cycle.

On IBM i 7.6, each NETSTAT read by a profile without *IOSYSCFG (or the QIBM_IOSYSCFG_VIEW function usage)
writes an authority-failure entry to the security audit journal (reference: IBM support page on 7.6
*IOSYSCFG audit failures). Asking every cycle would fill the journal with the bot's own failures, so after a
refusal such a source is read again at most once per its `refusal_retry` period; meanwhile the checks are
handed the remembered refusal and say "cannot see" as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.checks.definition import NotReadable, Source
from bot.ibmi.errors import NotAuthorizedError


@dataclass(frozen=True)
class _Refusal:
    error: NotAuthorizedError
    retry_at: float  # on the memory's clock


class RefusalMemory:
    """The refusals still remembered, per (system, service read); thread-safe (one memory serves every system)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._refusals: dict[tuple[str, str], _Refusal] = {}
        self._lock = threading.Lock()

    def remembered(self, system: str, source: Source) -> NotReadable | None:
        """The source's last refusal while it is not to be asked again, else None."""
        with self._lock:
            refusal = self._refusals.get((system, source.refusal_key))
            if refusal is None:
                return None
            if self._clock() >= refusal.retry_at:
                del self._refusals[(system, source.refusal_key)]
                return None
            return NotReadable(_not_retried(refusal.error, source.refusal_retry or 0))

    def record(self, system: str, source: Source, error: NotAuthorizedError) -> None:
        if source.refusal_retry is None:
            return
        with self._lock:
            self._refusals[(system, source.refusal_key)] = _Refusal(error, self._clock() + source.refusal_retry)

    def forget(self, system: str, source: Source) -> None:
        with self._lock:
            self._refusals.pop((system, source.refusal_key), None)


def _not_retried(error: NotAuthorizedError, period: float) -> NotAuthorizedError:
    minutes = round(period / 60)
    note = (
        f" (the bot asks again at most every {minutes} minutes: on IBM i 7.6 each refused read writes an "
        "entry to the security audit journal)"
    )
    return NotAuthorizedError(str(error) + note)
