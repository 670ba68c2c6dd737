"""smtp-relay: an SMTP server that relays mail for strangers, or *ACCEPT entries that let too many relay.

The check's declaration; its settings are in `settings.py`, the judgement in `rules.py` and
`accept_list.py`, the optional active probe in `probe.py`, what to do about a finding in `runbook.md`.
"""

from __future__ import annotations

from pathlib import Path

from bot.checks.definition import CheckDefinition, CheckTarget, Readings
from bot.checks.finding import Finding
from bot.checks.smtp_relay.accept_list import (
    ACCEPT_HEURISTIC,
    ACCEPT_MEMBER_HINT,
    accept_prefix,
    is_accept_member,
    too_broad,
)
from bot.checks.smtp_relay.rules import evaluate, server_jobs, smtp_running
from bot.checks.smtp_relay.settings import CHECK_ID, SmtpRelaySettingError, SmtpRelaySettings
from bot.checks.smtp_relay.sources import SMTP_LISTENING, SMTP_PROBE, smtp_status
from bot.checks.sources import SMTP_JOBS, SMTP_LISTS
from bot.ibmi.rows import SmtpListReading

__all__ = [
    "ACCEPT_HEURISTIC",
    "ACCEPT_MEMBER_HINT",
    "CHECK",
    "CHECK_ID",
    "SmtpRelaySettingError",
    "SmtpRelaySettings",
    "accept_prefix",
    "evaluate",
    "is_accept_member",
    "server_jobs",
    "smtp_running",
    "too_broad",
]


def evaluate_readings(readings: Readings, target: CheckTarget, settings: SmtpRelaySettings) -> list[Finding]:
    status = smtp_status(readings.optional(SMTP_LISTENING.name), readings.optional(SMTP_JOBS.name))
    problem = readings.problem(SMTP_LISTS.name)
    lists = readings.value(SMTP_LISTS.name) if problem is None else SmtpListReading(readable=False, problem=problem)
    return evaluate(target.name, status, lists, readings.value(SMTP_PROBE.name), settings, target.smtp)


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="SMTP relaying for strangers",
    default_interval=3600.0,
    sources=(SMTP_LISTENING, SMTP_JOBS, SMTP_LISTS, SMTP_PROBE),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=SmtpRelaySettings,
    order=30,
)
