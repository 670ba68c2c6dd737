"""A finding: one thing a check says is wrong on one system, with a stable fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Finding:
    system: str
    check: str  # check id, e.g. "unknown-connections"
    severity: str  # critical | warning | info
    subject: str  # what the finding is about, e.g. a remote address; part of the fingerprint
    title: str  # one line
    details: tuple[str, ...] = ()  # further lines, most important first
    facts: dict[str, Any] = field(default_factory=dict)  # structured data for JSON output and Slack fields

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    @property
    def fingerprint(self) -> str:
        """Computed once, when first asked (kept without functools.cached_property's lock: the alert lifecycle
        asks for thousands of them per run)."""
        known = self.__dict__.get("_fingerprint")
        if known is None:
            key = f"{self.system.upper()}|{self.check}|{self.subject}"
            known = self.__dict__["_fingerprint"] = hashlib.sha256(key.encode()).hexdigest()[:16]
        return known

    @property
    def at_least_warning(self) -> bool:
        return self.severity in ("critical", "warning")

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "check": self.check,
            "severity": self.severity,
            "fingerprint": self.fingerprint,
            "subject": self.subject,
            "title": self.title,
            "details": list(self.details),
            "facts": self.facts,
        }

    def to_stored(self) -> dict[str, Any]:
        """`to_json()` as an alert stores it, remembered as this finding's stored form (see `is_stored_as`)."""
        stored = self.__dict__["_stored_as"] = self.to_json()
        return stored

    def is_stored_as(self, stored: dict[str, Any]) -> bool:
        """Whether `stored` equals `to_json()`, told without building it (the alert lifecycle compares every
        finding of a run with the one stored). The last stored form found equal is remembered, so a finding kept
        from the run before (bot/checks/memo.py) is told equal to its unchanged stored form at once."""
        if self.__dict__.get("_stored_as") is stored:
            return True
        equal = (
            len(stored) == 8
            and stored.get("subject") == self.subject
            and stored.get("title") == self.title
            and stored.get("severity") == self.severity
            and stored.get("check") == self.check
            and stored.get("system") == self.system
            and stored.get("fingerprint") == self.fingerprint
            and stored.get("details") == list(self.details)
            and stored.get("facts") == self.facts
        )
        if equal:
            self.__dict__["_stored_as"] = stored
        return equal
