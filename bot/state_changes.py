"""Who wants to know that the bot's state changed (alerts opened or resolved, change requests moved):
subscribers register once, the services that change the state notify."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class StateChanges:
    """Thread-safe. A failing subscriber is logged and never stops the others nor the notifier."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def notify(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback()
            except Exception:
                log.warning("a state-change subscriber failed", exc_info=True)
