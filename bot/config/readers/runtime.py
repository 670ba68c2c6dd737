"""The settings of the running process: the top-level log_level and the [storage] section."""

from __future__ import annotations

from pathlib import Path

from bot.config.model import LOG_LEVELS, StorageSettings
from bot.config.validation import Section, not_empty


def read_log_level(root: Section) -> str:
    expected = f"one of {', '.join(LOG_LEVELS)}"
    level = root.string("log_level", expected)
    if level is None:
        return "INFO"
    if level.upper() not in LOG_LEVELS:
        root.problem("log_level", f"{level!r} is not a log level; expected {expected}")
        return "INFO"
    return level.upper()


def read_storage(root: Section) -> StorageSettings:
    section = root.table("storage", ("path",))
    if section is None:
        return StorageSettings()
    expected = "a file path like 'warden.db'"
    path = section.string("path", expected, check=not_empty(expected))
    return StorageSettings(path=Path(path)) if path else StorageSettings()
