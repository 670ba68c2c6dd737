"""The [slack] section: the channels (alerts, approvals, audit anchor), slash command, alert routes, runbook address."""

from __future__ import annotations

import re

from bot.config.model import DEFAULT_RUNBOOK_BASE_URL, SEVERITIES, Route, SlackSettings
from bot.config.validation import Section, pattern_check, wrong_type_text

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
_CHANNEL_NAME = re.compile(r"#[a-z0-9_-]{1,80}")
_SLASH_COMMAND = re.compile(r"/[a-z0-9_-]{1,31}")
_TEAM_ID = re.compile(r"T[A-Z0-9]{2,}")
_APP_ID = re.compile(r"A[A-Z0-9]{2,}")

CHANNEL_FORM = "a channel id like 'C0123ALERTS' or a name like '#security-alerts'"


def check_channel(value: str) -> str | None:
    if _CHANNEL_ID.fullmatch(value) or _CHANNEL_NAME.fullmatch(value):
        return None
    return f"{value!r} is not a Slack channel; expected {CHANNEL_FORM}"


def read_slack(root: Section) -> SlackSettings:
    section = root.table(
        "slack",
        (
            "alerts_channel",
            "approvals_channel",
            "audit_channel",
            "fallback_channel",
            "command",
            "routes",
            "runbook_base_url",
            "team_id",
            "app_id",
        ),
        required=True,
    )
    if section is None:
        return SlackSettings(alerts_channel="", approvals_channel="")
    alerts = section.string("alerts_channel", CHANNEL_FORM, required=True, check=check_channel)
    approvals = section.string("approvals_channel", CHANNEL_FORM, required=True, check=check_channel)
    audit_channel = section.string("audit_channel", CHANNEL_FORM, check=check_channel)
    fallback_channel = section.string("fallback_channel", CHANNEL_FORM, check=check_channel)
    if fallback_channel is not None and fallback_channel == alerts:
        section.problem(
            "fallback_channel",
            f"{fallback_channel!r} is alerts_channel itself; expected another channel, where the bot says when it "
            "cannot post alerts",
        )
    command = section.string(
        "command",
        "a slash command like '/ibmi'",
        check=pattern_check(_SLASH_COMMAND, "a slash command", "'/' and up to 31 of a-z 0-9 _ -, like '/ibmi'"),
    )
    runbook_base_url = section.string("runbook_base_url", RUNBOOK_BASE_URL_FORM, check=_check_runbook_base_url)
    team_id = section.string(
        "team_id",
        "a team id like 'T0123ABCD'",
        check=pattern_check(_TEAM_ID, "a team id", "'T' and A-Z 0-9, like 'T0123ABCD'"),
    )
    app_id = section.string(
        "app_id",
        "an app id like 'A0123ABCD'",
        check=pattern_check(_APP_ID, "an app id", "'A' and A-Z 0-9, like 'A0123ABCD'"),
    )
    return SlackSettings(
        alerts_channel=alerts or "",
        approvals_channel=approvals or "",
        command=command or "/ibmi",
        routes=_read_routes(section),
        runbook_base_url=runbook_base_url or DEFAULT_RUNBOOK_BASE_URL,
        audit_channel=audit_channel or None,
        fallback_channel=fallback_channel or None,
        team_id=team_id,
        app_id=app_id,
    )


RUNBOOK_BASE_URL_FORM = f"an https:// address ending in '/', like '{DEFAULT_RUNBOOK_BASE_URL}'"


def _check_runbook_base_url(value: str) -> str | None:
    """An https:// URL ending in "/", without spaces or characters that would break a Slack link (<url|text>)."""
    if (
        value.startswith("https://")
        and value.endswith("/")
        and len(value) > len("https://") + 1
        and value.isascii()
        and not any(ch.isspace() or ch in "<>|" for ch in value)
    ):
        return None
    return f"{value!r} is not a runbook base address; expected {RUNBOOK_BASE_URL_FORM}"


SEVERITY_FORM = f"one of {', '.join(SEVERITIES)}"


def _read_routes(slack: Section) -> tuple[Route, ...]:
    entries = slack.typed("routes", list, "an array of tables", "[[slack.routes]] tables with channel, min_severity")
    routes = []
    for index, entry in enumerate(entries or []):
        key = f"{slack.key('routes')}[{index}]"
        if not isinstance(entry, dict):
            slack.problems.add(key, wrong_type_text(entry, "a table", "a [[slack.routes]] table"))
            continue
        section = Section(slack.problems, key, entry, ("channel", "min_severity"))
        channel = section.string("channel", CHANNEL_FORM, required=True, check=check_channel)
        severity = section.string(
            "min_severity",
            SEVERITY_FORM,
            check=lambda v: None if v in SEVERITIES else f"{v!r} is not a severity; expected {SEVERITY_FORM}",
        )
        if channel:
            routes.append(Route(channel, severity or "info"))
    return tuple(routes)
