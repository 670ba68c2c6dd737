"""Reading TOML tables and naming every mistake: the framework each section reader uses.

Every reader records problems and carries on, so one run reports them all; each problem names
the file, the key path, what was found and what is accepted.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

_DURATION_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = re.compile(
    rf"(?:(?P<d>{_DURATION_NUMBER})d)?(?:(?P<h>{_DURATION_NUMBER})h)?"
    rf"(?:(?P<m>{_DURATION_NUMBER})m)?(?:(?P<s>{_DURATION_NUMBER})s)?"
)
UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
DURATION_FORM = "a number with a unit: '30s', '5m', '1h', '1d', or combined like '1h30m'"


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "30s", "5m", "1h", "1d" or "1h30m". Bare numbers are rejected."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; expected {DURATION_FORM}")
    return sum(float(amount) * UNIT_SECONDS[unit] for unit, amount in match.groupdict().items() if amount)


CONFIG_DURATION_FORM = "a duration like '30s', '5m' or '1h30m', or a number of seconds"


def config_duration(value: object) -> float:
    """Seconds in a configuration duration: a string parse_duration reads, or a number (int or float) of seconds.

    The one reading of durations in the configuration file; TypeError for any other TOML type."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{value!r} is not a duration; expected {CONFIG_DURATION_FORM}, not negative")
        return float(value)
    if isinstance(value, str):
        return parse_duration(value)
    raise TypeError(wrong_type_text(value, "a duration", CONFIG_DURATION_FORM))


class Problems:
    """The problems found in one file, each line naming the file, the key path and what is wrong."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: list[str] = []

    def add(self, key: str, text: str) -> None:
        self.lines.append(f"{self.file}: {key}: {text}")


def kind_text(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return "a date or time"
    return f"a {type(value).__name__}"


def unknown_key_text(key: str, accepted: Sequence[str], noun: str) -> str:
    close = difflib.get_close_matches(key, accepted, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {noun}{hint}; expected one of {', '.join(accepted)}"


class Section:
    """One TOML table: its key path, its values, and the problems found while reading it."""

    def __init__(
        self,
        problems: Problems,
        path: str,
        data: Mapping[str, Any],
        accepted: Sequence[str],
        noun: str = "key",
    ) -> None:
        self.problems = problems
        self.path = path
        self.data = data
        for key in data:
            if key not in accepted:
                problems.add(self.key(key), unknown_key_text(key, accepted, noun))

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, text: str) -> None:
        self.problems.add(self.key(name), text)

    def has(self, name: str) -> bool:
        return name in self.data

    def typed(self, name: str, kind: type, type_name: str, form: str | None = None, required: bool = False) -> Any:
        """The value if present and of the right TOML type; otherwise None (and a problem, if wrong)."""
        if name not in self.data:
            if required:
                self.problem(name, f"missing; expected {form or type_name}")
            return None
        value = self.data[name]
        if not is_kind(value, kind):
            self.problem(name, wrong_type_text(value, type_name, form))
            return None
        return value

    def string(
        self,
        name: str,
        form: str | None = None,
        required: bool = False,
        check: Callable[[str], str | None] | None = None,
    ) -> str | None:
        value = self.typed(name, str, "a string", form, required)
        if value is None:
            return None
        trouble = check(value) if check else None
        if trouble:
            self.problem(name, trouble)
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        return self.typed(name, bool, "a boolean", "true or false")

    def integer(self, name: str) -> int | None:
        return self.typed(name, int, "an integer")

    def duration(self, name: str, default: float, minimum: float, exclusive: bool = False) -> float:
        seconds = self.optional_duration(name, minimum, exclusive)
        return default if seconds is None else seconds

    def optional_duration(self, name: str, minimum: float, exclusive: bool = False) -> float | None:
        """Seconds if the key is present and valid; None when it is absent (or wrong, with a problem)."""
        if name not in self.data:
            return None
        value = self.data[name]
        try:
            seconds = config_duration(value)
        except (TypeError, ValueError) as exc:
            self.problem(name, str(exc))
            return None
        if seconds < minimum or (exclusive and seconds == minimum):
            bound = "more than" if exclusive else "at least"
            self.problem(name, f"{value!r} is too short; expected a duration of {bound} {seconds_text(minimum)}")
            return None
        return seconds

    def ranged_integer(self, name: str, minimum: int, maximum: int | None = None) -> int | None:
        """The integer if present and within [minimum, maximum]; otherwise None (and a problem, if wrong)."""
        value = self.integer(name)
        if value is None:
            return None
        if value < minimum or (maximum is not None and value > maximum):
            expected = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            self.problem(name, f"{value} is out of range; expected a whole number {expected}")
            return None
        return value

    def strings(self, name: str, item_form: str) -> Iterator[tuple[str, str]]:
        """(key path, value) for each string of an array, in order; a problem for anything else."""
        value = self.typed(name, list, "an array", f"strings, each {item_form}")
        for index, item in enumerate(value or []):
            key = f"{self.key(name)}[{index}]"
            if isinstance(item, str):
                yield key, item
            else:
                self.problems.add(key, wrong_type_text(item, "a string", item_form))

    def table(self, name: str, accepted: Sequence[str], required: bool = False, noun: str = "key") -> Section | None:
        form = f"[{self.key(name)}] with {', '.join(accepted)}"
        value = self.typed(name, dict, "a table", form, required)
        if value is None:
            return None
        return Section(self.problems, self.key(name), value, accepted, noun)


def seconds_text(seconds: float) -> str:
    """A minimum as the file would write it: 60 → '1m', 10 → '10s'."""
    for unit in ("d", "h", "m"):
        amount = seconds / UNIT_SECONDS[unit]
        if seconds and amount == int(amount):
            return f"{int(amount)}{unit}"
    return f"{seconds:g}s"


def is_kind(value: object, kind: type) -> bool:
    # TOML booleans are Python bools, which are also ints: keep them apart.
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, kind)


def wrong_type_text(value: object, type_name: str, form: str | None) -> str:
    accepted = f" (accepted: {form})" if form else ""
    return f"expected {type_name}, got {kind_text(value)}{accepted}"


def pattern_check(pattern: re.Pattern[str], what: str, form: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if pattern.fullmatch(value) else f"{value!r} is not {what}; expected {form}"

    return check


def not_empty(form: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value.strip() else f"is empty; expected {form}"

    return check
