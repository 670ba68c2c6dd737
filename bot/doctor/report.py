"""The doctor's checklist: one line per item as soon as it is known, with the fix for each failure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from bot.logging_setup import RedactingFilter

EXIT_READY, EXIT_NOT_READY, EXIT_NO_CONFIG = 0, 1, 2

OK, FAIL, WARN, UNKNOWN, SKIPPED = "ok", "FAIL", "WARN", "unknown", "skipped"


@dataclass(frozen=True)
class Item:
    status: str  # OK, FAIL, WARN, UNKNOWN or SKIPPED
    name: str  # "DEMO: NETSTAT readable"
    detail: str = ""
    fix: str = ""
    more: tuple[str, ...] = ()  # further lines, e.g. each configuration problem


class Report:
    """Prints each item as soon as it is known (a slow sign-on shows where it waits) and counts them."""

    def __init__(self, out: TextIO, secrets: Sequence[str] = ()):
        self.out = out
        self.items: list[Item] = []
        self._redactor = RedactingFilter(secrets)

    def add(self, status: str, name: str, detail: str = "", fix: str = "", more: Sequence[str] = ()) -> Item:
        item = Item(status, name, detail, fix, tuple(more))
        self.items.append(item)
        lines = [f"  {status:<8}{name}" + (f" ({detail})" if detail else "")]
        lines += [f"          {line}" for line in item.more]
        if fix:
            lines.append(f"          {'fix' if status in (FAIL, WARN) else 'hint'}: {fix}")
        for line in lines:
            print(self._redactor.redact(line), file=self.out, flush=True)
        return item

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def failed(self) -> bool:
        return self.count(FAIL) > 0

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in (OK, FAIL, WARN, UNKNOWN, SKIPPED) if self.count(s))
        verdict = (
            "not ready: fix the FAIL items above"
            if self.failed
            else "ready: nothing the configuration needs is missing"
        )
        return f"{counts}\n{verdict}"
