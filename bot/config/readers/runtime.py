"""The settings of the running process: the top-level log_level and the [storage], [http] and [scheduler]
sections."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from bot.config.model import (
    LOG_LEVELS,
    MAX_HTTP_BODY_BYTES,
    MAX_HTTP_THREADS,
    MAX_PARALLEL_SYSTEMS,
    MIN_HTTP_BODY_BYTES,
    MIN_RETENTION,
    HttpSettings,
    SchedulerSettings,
    StorageSettings,
)
from bot.config.validation import Section, not_empty

HOST_FORM = "an address to listen on like '127.0.0.1', '::1' or '0.0.0.0' (every address), or a host name"
_HOST_NAME = re.compile(r"(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


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
    section = root.table("storage", ("path", "retention"))
    if section is None:
        return StorageSettings()
    defaults = StorageSettings()
    expected = "a file path like 'warden.db'"
    path = section.string("path", expected, check=not_empty(expected))
    return StorageSettings(
        path=Path(path) if path else defaults.path,
        retention=section.duration("retention", defaults.retention, MIN_RETENTION),
    )


def read_http(root: Section) -> HttpSettings:
    section = root.table("http", ("host", "max_body_bytes", "channel_timeout", "connection_limit", "threads"))
    if section is None:
        return HttpSettings()
    defaults = HttpSettings()
    return HttpSettings(
        host=section.string("host", HOST_FORM, check=host_problem) or defaults.host,
        max_body_bytes=section.ranged_integer("max_body_bytes", MIN_HTTP_BODY_BYTES, MAX_HTTP_BODY_BYTES)
        or defaults.max_body_bytes,
        channel_timeout=section.duration("channel_timeout", defaults.channel_timeout, 1.0),
        connection_limit=section.ranged_integer("connection_limit", 1) or defaults.connection_limit,
        threads=section.ranged_integer("threads", 1, MAX_HTTP_THREADS) or defaults.threads,
    )


def read_scheduler(root: Section) -> SchedulerSettings:
    section = root.table("scheduler", ("max_parallel_systems", "max_waiting"))
    if section is None:
        return SchedulerSettings()
    defaults = SchedulerSettings()
    return SchedulerSettings(
        max_parallel_systems=section.ranged_integer("max_parallel_systems", 1, MAX_PARALLEL_SYSTEMS)
        or defaults.max_parallel_systems,
        max_waiting=section.ranged_integer("max_waiting", 1, 100) or defaults.max_waiting,
    )


def host_problem(value: str) -> str | None:
    """What is wrong with an address to listen on ([http] host, --host); None when it is an IP address or a host
    name. A name whose last label is all digits is a mistyped address (no top-level domain is numeric)."""
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    if _HOST_NAME.fullmatch(value) and not value.rsplit(".", 1)[-1].isdigit():
        return None
    return f"{value!r} is not an address or host name; expected {HOST_FORM}"
