"""The splctl-exposure check's id and its [checks.splctl-exposure] settings, validated as they are built."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.ibmi.rows import OutputQueue

CHECK_ID = "splctl-exposure"


def _names(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValueError(f"{what} must be a list of strings, not the string {values!r}")
    names = tuple(values)
    for value in names:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{what} must hold non-empty strings, not {value!r}")
    return names


@dataclass(frozen=True)
class SplctlSettings:
    allowed_holders: tuple[str, ...] = ("QSECOFR",)  # user or group profiles allowed *SPLCTL; case is ignored
    sensitive_queues: tuple[str, ...] = ("PAY*", "HR*")  # fnmatch patterns against NAME and LIB/NAME
    many_files: int = 100  # a queue with at least this many spooled files is raised a level; 0: never
    report_oprctl_only: bool = True  # false: skip a queue whose only issue is OPRCTL(*YES) and stays info

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_holders", _names(self.allowed_holders, "allowed_holders"))
        object.__setattr__(self, "sensitive_queues", _names(self.sensitive_queues, "sensitive_queues"))
        if isinstance(self.many_files, bool) or not isinstance(self.many_files, int) or self.many_files < 0:
            raise ValueError(f"many_files must be a whole number, 0 or more, not {self.many_files!r}")
        if not isinstance(self.report_oprctl_only, bool):
            raise ValueError(f"report_oprctl_only must be true or false, not {self.report_oprctl_only!r}")

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(name.strip().upper() for name in self.allowed_holders)

    def sensitive_pattern(self, queue: OutputQueue) -> str | None:
        """The first pattern matching the queue's NAME or LIB/NAME, case-insensitively."""
        return self.sensitive_matcher()(queue)

    def sensitive_matcher(self) -> Callable[[OutputQueue], str | None]:
        """`sensitive_pattern`, its patterns compiled once: for judging many queues."""
        # What fnmatch.fnmatchcase compiles each pattern to.
        matchers = [
            (pattern, re.compile(fnmatch.translate(pattern.strip().upper())).match) for pattern in self.sensitive_queues
        ]

        def sensitive_pattern(queue: OutputQueue) -> str | None:
            name = queue.name.strip()
            bare, qualified = name.upper(), f"{queue.library.strip()}/{name}".upper()
            for pattern, match in matchers:
                if match(bare) or match(qualified):
                    return pattern
            return None

        return sensitive_pattern


DEFAULT_SETTINGS = SplctlSettings()
