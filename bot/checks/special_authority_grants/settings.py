"""The special-authority-grants check's id and its [checks.special-authority-grants] settings, validated as built."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.checks.audit_journal.judging import check_journal_options
from bot.checks.definition import DURATION_OPTION

CHECK_ID = "special-authority-grants"

# The special authorities a CP entry flags (IBM, "CP (User Profile Changes) journal entries").
SPECIAL_AUTHORITIES = ("*ALLOBJ", "*AUDIT", "*IOSYSCFG", "*JOBCTL", "*SAVSYS", "*SECADM", "*SERVICE", "*SPLCTL")
WATCHED = ("*ALLOBJ", "*SECADM", "*SPLCTL", "*JOBCTL", "*IOSYSCFG", "*AUDIT")
CRITICAL = ("*ALLOBJ", "*SECADM", "*AUDIT")


def setting_error(key: str, message: str) -> ValueError:
    """A wrong setting: "key: message", as the configuration reader names it."""
    return ValueError(f"{key}: {message}")


def authority(key: str, value: object) -> str:
    """A special authority as IBM writes it (*ALLOBJ), from any case, with or without the asterisk."""
    text = value.strip().upper() if isinstance(value, str) else ""
    name = text if text.startswith("*") else f"*{text}"
    if name not in SPECIAL_AUTHORITIES:
        raise setting_error(key, f"{value!r} is not a special authority; expected {', '.join(SPECIAL_AUTHORITIES)}")
    return name


def _authorities(key: str, values: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise setting_error(key, f"expected a list of special authorities, not {values!r}")
    return tuple(dict.fromkeys(authority(key, value) for value in values))


def _profiles(key: str, values: Iterable[Any]) -> frozenset[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise setting_error(key, f"expected a list of user profile names, not {values!r}")
    names = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise setting_error(key, f"expected user profile names, not {value!r}")
        names.append(value.strip().upper())
    return frozenset(names)


@dataclass(frozen=True)
class GrantsSettings:
    """The [checks.special-authority-grants] settings.

    window: seconds of CP entries judged (a grant stays reported this long after it was made).
    max_entries: CP entries read at most per cycle; a backlog is caught up over the following cycles.
    authorities: the special authorities watched.
    critical_authorities: the watched ones reported as critical (the rest as warning).
    allowed_holders: profiles allowed to hold every watched authority (reported as info, or not at all).
    allowed_by_authority: profiles allowed one authority each, e.g. { JOBCTL = ["OPERATOR"] }.
    report_allowed: true: an allowed holder is an info finding; false: not reported.
    """

    window: float = field(default=86400.0, metadata=DURATION_OPTION)
    max_entries: int = 10_000
    authorities: tuple[str, ...] = WATCHED
    critical_authorities: tuple[str, ...] = CRITICAL
    allowed_holders: frozenset[str] = frozenset({"QSECOFR"})
    allowed_by_authority: Mapping[str, frozenset[str]] = field(default_factory=dict)
    report_allowed: bool = True

    def __post_init__(self) -> None:
        check_journal_options(self.window, self.max_entries)
        object.__setattr__(self, "authorities", _authorities("authorities", self.authorities))
        if not self.authorities:
            raise setting_error("authorities", "name at least one special authority (disable the check instead)")
        object.__setattr__(
            self, "critical_authorities", _authorities("critical_authorities", self.critical_authorities)
        )
        object.__setattr__(self, "allowed_holders", _profiles("allowed_holders", self.allowed_holders))
        if not isinstance(self.allowed_by_authority, Mapping):
            raise setting_error(
                "allowed_by_authority",
                f"expected a table of special authority = [profiles], not {self.allowed_by_authority!r}",
            )
        by_authority = {
            authority("allowed_by_authority", name): _profiles("allowed_by_authority", names)
            for name, names in self.allowed_by_authority.items()
        }
        object.__setattr__(self, "allowed_by_authority", by_authority)
        if not isinstance(self.report_allowed, bool):
            raise setting_error("report_allowed", f"must be true or false, not {self.report_allowed!r}")

    def allowed_by_this_check(self, profile: str, special: str) -> bool:
        return profile in self.allowed_holders or profile in self.allowed_by_authority.get(special, frozenset())


DEFAULT_SETTINGS = GrantsSettings()
