"""The findings of a check's last run, given again while everything they were judged from stays equal.

A check's judgement is pure (`CheckDefinition.evaluate`): equal readings, system and settings give equal findings.
Most runs of a quiet system read what the run before read, so a check that keeps its last input and findings
per system skips judging such a run, and hands the lifecycle the very findings it saw last time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bot.checks.finding import Finding


class SameInput:
    """The findings of each system's last run, given again for an equal input."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[tuple[Any, ...], tuple[Finding, ...]]] = {}
        self._lock = threading.Lock()

    def findings(self, system: str, inputs: tuple[Any, ...], judge: Callable[[], list[Finding]]) -> list[Finding]:
        with self._lock:
            last = self._last.get(system)
        if last is not None and last[0] == inputs:
            return list(last[1])
        found = judge()
        with self._lock:
            self._last[system] = (inputs, tuple(found))
        return found
