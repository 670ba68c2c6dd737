"""unknown-connections: established TCP connections from addresses outside the trusted networks.

The check's declaration; the judgement is in `rules.py`, what to do about a finding in `runbook.md`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.checks.definition import CheckDefinition, CheckTarget, Readings
from bot.checks.finding import Finding
from bot.checks.memo import SameInput
from bot.checks.sources import NETSTAT, NETSTAT_JOBS
from bot.checks.unknown_connections.rules import (
    CHECK_ID,
    JOBS_NOT_VISIBLE,
    cannot_see,
    evaluate,
    untrusted_remote,
)
from bot.net import TrustList

__all__ = ["CHECK", "CHECK_ID", "JOBS_NOT_VISIBLE", "cannot_see", "evaluate", "untrusted_remote"]


_LAST_RUN = SameInput()


def evaluate_readings(readings: Readings, target: CheckTarget, _settings: Any) -> list[Finding]:
    inputs = (readings.as_read(NETSTAT.name, NETSTAT_JOBS.name), target.trusted)
    return _LAST_RUN.findings(target.name, inputs, lambda: _judge(readings, target))


def _judge(readings: Readings, target: CheckTarget) -> list[Finding]:
    problem = readings.problem(NETSTAT.name)
    if problem is not None:
        return [cannot_see(target.name, problem)]
    connections = readings.value(NETSTAT.name)
    jobs = readings.optional(NETSTAT_JOBS.name)
    return evaluate(target.name, connections, jobs, TrustList(target.trusted))


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="Connections from untrusted addresses",
    default_interval=300.0,
    sources=(NETSTAT, NETSTAT_JOBS),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    about_address=True,
    order=10,
)
