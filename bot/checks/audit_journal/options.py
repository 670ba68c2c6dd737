"""The options every audit-journal check has (window, max_entries), validated with a message naming the key."""

from __future__ import annotations

MAX_ENTRIES_LIMIT = 100_000


class JournalSettingError(ValueError):
    """A setting is wrong. `key` names it; the message says what is accepted."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")


def check_window(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise JournalSettingError("window", f'{value!r} is not a duration above 0 (e.g. "24h")')


def check_whole(key: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise JournalSettingError(key, f"{value!r} is not a whole number from {low} to {high}")


def check_journal_options(window: object, max_entries: object) -> None:
    check_window(window)
    check_whole("max_entries", max_entries, 1, MAX_ENTRIES_LIMIT)


def check_flag(key: str, value: object) -> None:
    if not isinstance(value, bool):
        raise JournalSettingError(key, f"{value!r} is not true or false")
