"""The [alerts] section (reminders, resolving) and the [digest] section (the daily summary)."""

from __future__ import annotations

import re
import zoneinfo

from bot.config.model import AlertSettings, DigestSettings, SlackSettings
from bot.config.readers.slack import CHANNEL_FORM, check_channel
from bot.config.validation import Section


def read_alerts(root: Section) -> AlertSettings:
    section = root.table("alerts", ("repeat_interval", "resolve_after"))
    if section is None:
        return AlertSettings()
    resolve_after = section.integer("resolve_after")
    if resolve_after is not None and resolve_after < 1:
        section.problem("resolve_after", f"{resolve_after} is too small; expected a whole number of runs, at least 1")
        resolve_after = None
    return AlertSettings(
        repeat_interval=section.duration("repeat_interval", AlertSettings.repeat_interval, 60.0),
        resolve_after=resolve_after or AlertSettings.resolve_after,
    )


_DIGEST_TIME = re.compile(r"(\d{1,2}):(\d{2})")
DIGEST_TIME_FORM = 'a 24-hour time "HH:MM" like "08:00"'
TIMEZONE_FORM = 'an IANA time zone name like "Europe/Paris" or "UTC"'


def _check_digest_time(value: str) -> str | None:
    match = _DIGEST_TIME.fullmatch(value.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return f"{value!r} is not a time of day; expected {DIGEST_TIME_FORM}"
    return None


def _check_timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"{value!r} is not a known time zone; expected {TIMEZONE_FORM}"
    return None


def read_digest(root: Section, slack: SlackSettings) -> DigestSettings:
    section = root.table("digest", ("enabled", "time", "timezone", "channel"))
    if section is None:
        return DigestSettings(channel=slack.alerts_channel or None)
    enabled = section.boolean("enabled")
    time = section.string("time", DIGEST_TIME_FORM, check=_check_digest_time)
    timezone = section.string("timezone", TIMEZONE_FORM, check=_check_timezone)
    channel = section.string("channel", CHANNEL_FORM, check=check_channel)
    if time is not None:
        hour, minute = time.strip().split(":")
        time = f"{int(hour):02d}:{minute}"
    return DigestSettings(
        enabled=bool(enabled),
        time=time or DigestSettings.time,
        timezone=timezone or DigestSettings.timezone,
        channel=channel or slack.alerts_channel or None,
    )
