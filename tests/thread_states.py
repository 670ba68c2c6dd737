"""Where other threads are right now, so a test can wait for a thread to block instead of sleeping."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable


def blocked_in(threads: Iterable[threading.Thread], function: str, module: str) -> Callable[[], int]:
    """A count of `threads` now inside `function` of a module whose path holds `module` (at any depth)."""
    watched = list(threads)

    def count() -> int:
        frames = sys._current_frames()
        inside = 0
        for thread in watched:
            frame = frames.get(thread.ident or -1)
            while frame is not None and (frame.f_code.co_name, module in frame.f_code.co_filename) != (function, True):
                frame = frame.f_back
            inside += frame is not None
        return inside

    return count


def wait_until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Look again until `condition` holds (for states no event announces); `timeout` only bounds a failure."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{getattr(condition, '__name__', 'the condition')} did not hold within {timeout}s")
        time.sleep(0.005)
