"""One cycle on one system: read every needed source once, then let each check judge the readings.

Recording the runs and announcing the findings is the caller's business; this module does neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.checks.definition import CheckDefinition, CheckTarget, NotReadable, Readings, SourceContext, needed_sources
from bot.checks.finding import Finding
from bot.checks.refusals import RefusalMemory
from bot.checks.visibility import service_missing
from bot.ibmi.errors import (
    ConnectionFailedError,
    DeadlineExceededError,
    DriverMissingError,
    IbmiError,
    NotAuthorizedError,
    ServiceMissingError,
)
from bot.ibmi.sql import Queryable

# After these, reading further sources would only wait for the same failure again: the system is unreachable
# or degraded (a call abandoned at its deadline).
UNREACHABLE_ERRORS = (ConnectionFailedError, DriverMissingError, DeadlineExceededError)


@dataclass(frozen=True)
class PlannedCheck:
    check: CheckDefinition
    settings: Any  # built from the check's options (None when it has none)


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    findings: list[Finding] = field(default_factory=list)
    error: IbmiError | None = None
    duration: float = 0.0  # seconds: reading the check's sources and judging
    # Every source the check reads as the bot's profile was refused (the first refusal): it judged what it
    # could, but the profile lets it see nothing (bot.health counts it towards "not authorised").
    refused: NotAuthorizedError | None = None


@dataclass(frozen=True)
class SourceReadings:
    values: dict[str, Any]  # source name -> value or NotReadable
    failures: dict[str, IbmiError]  # source name -> what failed it
    durations: dict[str, float]


def read_sources(
    connection: Queryable,
    target: CheckTarget,
    planned: Sequence[PlannedCheck],
    clock: Callable[[], float] = time.monotonic,
    refusals: RefusalMemory | None = None,
    journal: Any = None,
) -> SourceReadings:
    """Each source the planned checks need, read once. A source the profile may not read is `NotReadable`
    (and, where `refusals` remembers a recent refusal of a source IBM i audits, not asked again);
    once the system is unreachable the remaining sources fail with the same error, unread."""
    context = SourceContext(connection, target, {p.check.id: p.settings for p in planned}, journal)
    readings = SourceReadings({}, {}, {})
    unreachable: IbmiError | None = None
    for source in needed_sources([p.check for p in planned]):
        if unreachable is not None:
            readings.failures[source.name] = unreachable
            continue
        if refusals is not None and (remembered := refusals.remembered(target.name, source)) is not None:
            readings.values[source.name] = remembered
            continue
        started = clock()
        try:
            readings.values[source.name] = source.read(context)
        except NotAuthorizedError as error:
            readings.values[source.name] = NotReadable(error)
            if refusals is not None:
                refusals.record(target.name, source, error)
        except IbmiError as error:
            readings.failures[source.name] = error
            if isinstance(error, UNREACHABLE_ERRORS):
                unreachable = error
        readings.durations[source.name] = clock() - started
    return readings


def judge(
    planned: PlannedCheck,
    target: CheckTarget,
    readings: SourceReadings,
    clock: Callable[[], float] = time.monotonic,
) -> CheckOutcome:
    """One check's outcome: the first failure among its sources, or its findings. A source whose service
    this system does not have gives a "cannot see" finding, not an error."""
    check = planned.check
    read_time = sum(readings.durations.get(name, 0.0) for name in check.source_names)
    refused = _refused(check, readings)
    missing = [
        service_missing(target.name, check.id, source.name, str(error), source.service)
        for source in check.sources
        if isinstance(error := readings.failures.get(source.name), ServiceMissingError)
    ]
    if missing:
        return CheckOutcome(check.id, missing, None, read_time)
    failed = next((readings.failures[name] for name in check.source_names if name in readings.failures), None)
    if failed is not None:
        return CheckOutcome(check.id, error=failed, duration=read_time)
    started = clock()
    values: Mapping[str, Any] = {name: readings.values[name] for name in check.source_names}
    try:
        findings = check.evaluate(Readings(values), target, planned.settings)
    except IbmiError as error:  # a source it cannot do without was not readable
        return CheckOutcome(check.id, error=error, duration=read_time + clock() - started, refused=refused)
    return CheckOutcome(check.id, findings, None, read_time + clock() - started, refused)


def _refused(check: CheckDefinition, readings: SourceReadings) -> NotAuthorizedError | None:
    """The first refusal, when every source the check reads as the bot's profile was refused."""
    values = [readings.values.get(source.name) for source in check.sources if source.as_profile]
    refusals = [value.error for value in values if isinstance(value, NotReadable)]
    return refusals[0] if refusals and len(refusals) == len(values) else None


def run_checks(
    connection: Queryable,
    target: CheckTarget,
    planned: Sequence[PlannedCheck],
    clock: Callable[[], float] = time.monotonic,
    refusals: RefusalMemory | None = None,
    journal: Any = None,
) -> list[CheckOutcome]:
    """The planned checks on one system, their sources shared; outcomes in the order planned. `journal` keeps
    where the system's audit journal was read up to (bot.checks.audit_journal.memory)."""
    readings = read_sources(connection, target, planned, clock, refusals, journal)
    return [judge(p, target, readings, clock) for p in planned]
