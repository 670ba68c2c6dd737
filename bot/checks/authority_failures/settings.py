"""The authority-failures check's id and its [checks.authority-failures] settings, validated as they are built.

`sensitive_patterns` are splctl-exposure's sensitive-queue patterns (same defaults, same matching: shell-style,
case ignored, against the queue's NAME and LIB/NAME); `sensitive_objects` names other objects, LIB/NAME.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.checks.audit_journal.judging import check_journal_options, whole_number
from bot.checks.definition import DURATION_OPTION
from bot.checks.splctl_exposure.settings import DEFAULT_SETTINGS as SPLCTL_DEFAULTS
from bot.checks.splctl_exposure.settings import SplctlSettings
from bot.ibmi.rows import OutputQueue

CHECK_ID = "authority-failures"
# LIB/NAME, each an IBM i name (letters, digits, $ # @ _ .), with the wildcards * and ? allowed.
_OBJECT_PATTERN = re.compile(r"^[A-Z0-9$#@_.*?]{1,10}/[A-Z0-9$#@_.*?]{1,10}$")


def _patterns(key: str, values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ValueError(f"{key}: must be a list of strings, not {values!r}")
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key}: must hold non-empty strings, not {value!r}")
    return tuple(value.strip() for value in values)


def _objects(values: object) -> tuple[str, ...]:
    objects = tuple(value.upper() for value in _patterns("sensitive_objects", values))
    for value in objects:
        if not _OBJECT_PATTERN.match(value):
            raise ValueError(
                f"sensitive_objects: {value!r} is not LIB/NAME (two IBM i names of 1 to 10 characters; "
                "* and ? match any characters, as in PAYLIB/*)"
            )
    return objects


@dataclass(frozen=True)
class AuthorityFailureSettings:
    window: float = field(default=3600.0, metadata=DURATION_OPTION)  # seconds of failures judged together
    max_entries: int = 10_000  # AF entries read at most per cycle
    sensitive_patterns: tuple[str, ...] = SPLCTL_DEFAULTS.sensitive_queues  # output queues, as splctl-exposure
    sensitive_objects: tuple[str, ...] = ()  # other objects, LIB/NAME, any type
    critical_at: int = 5  # failures of one user on one object that make the finding critical

    def __post_init__(self) -> None:
        check_journal_options(self.window, self.max_entries)
        object.__setattr__(self, "sensitive_patterns", _patterns("sensitive_patterns", self.sensitive_patterns))
        object.__setattr__(self, "sensitive_objects", _objects(self.sensitive_objects))
        whole_number("critical_at", self.critical_at, 1)

    def sensitive_matcher(self) -> Callable[[str, str, str | None], str | None]:
        """Why an object (library, name, type) is sensitive: the pattern or listed object it matches; None when
        it is not. Output queue patterns apply to *OUTQ objects, and to objects whose type is not given."""
        queue_pattern = SplctlSettings(sensitive_queues=self.sensitive_patterns).sensitive_matcher()
        listed = [(pattern, re.compile(fnmatch.translate(pattern)).match) for pattern in self.sensitive_objects]

        def sensitive(library: str, name: str, object_type: str | None) -> str | None:
            if object_type is None or object_type.upper().lstrip("*") == "OUTQ":
                pattern = queue_pattern(OutputQueue(library, name, None, None, None, None, None, None))
                if pattern is not None:
                    return f"an output queue matching sensitive_patterns {pattern}"
            qualified = f"{library}/{name}".upper()
            for pattern, match in listed:
                if match(qualified):
                    return f"listed in sensitive_objects ({pattern})"
            return None

        return sensitive
