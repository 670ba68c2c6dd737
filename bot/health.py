"""A system's health, decided once per run of its checks, never per check: healthy, or sick in one way.

- unreachable: connecting failed (or the driver is missing);
- hung: a call passed its wall-clock deadline and was abandoned;
- erroring: every enabled check's latest run failed (SQL0901, the query timeout, any other IBM i error);
- not authorised: every enabled check's latest run failed because the bot's profile may not read its sources.

Unreachable and hung are system-wide by nature and decided by the run that met them. Erroring and not authorised
need every enabled check's latest run to have failed, so one failing check (NETSTAT refused, say) stays that
check's error, and a system whose checks run in groups of different intervals does not flap between groups.
The sickness is the system's own alert (check `REACHABILITY`): one alert, updated when the kind changes, and one
recovery.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.checks.finding import Finding
from bot.ibmi.errors import (
    ConnectionFailedError,
    DeadlineExceededError,
    DriverMissingError,
    IbmiError,
    NotAuthorizedError,
    QueryTimeoutError,
)
from storage.check_runs import HEALTH_STATES

REACHABILITY = "reachability"  # the check id of a system's own alert: sick, healthy again
HEALTHY, UNREACHABLE, HUNG, ERRORING, NOT_AUTHORISED = HEALTH_STATES

_FIX = {
    UNREACHABLE: "`ibmi-warden doctor` shows where connecting fails",
    NOT_AUTHORISED: "grant the bot's profile what `ibmi-warden doctor` lists as not readable",
}
_QUERY_TIMEOUT_FIX = "raise the system's `query_timeout` (Db2 for i refuses a query estimated to take longer)"


@dataclass(frozen=True)
class Sickness:
    kind: str  # UNREACHABLE, HUNG, ERRORING or NOT_AUTHORISED
    error: str  # the last error, without the system's name in front
    fix: str | None = None
    deadline: float | None = None  # hung: the deadline the calls were abandoned at, in seconds

    @property
    def detail(self) -> str:
        """What is wrong in one line, e.g. for `/ibmi status`: the deadline passed, the last error and the fix
        (the fix first when the profile may read nothing: the errors then only repeat it)."""
        parts: list[str | None] = [f"calls abandoned at the {self.deadline:g} s deadline"] if self.deadline else []
        parts += [self.fix, self.error] if self.kind == NOT_AUTHORISED else [self.error, self.fix]
        return " — ".join(part for part in parts if part)


def sickness_of(system: str, error: IbmiError) -> Sickness:
    """What one failure says of the system, were every read to fail like it."""
    text = _without_system(system, str(error))
    if isinstance(error, ConnectionFailedError | DriverMissingError):
        return Sickness(UNREACHABLE, text, _FIX[UNREACHABLE])
    if isinstance(error, DeadlineExceededError):
        return Sickness(HUNG, text, deadline=error.deadline)
    if isinstance(error, NotAuthorizedError):
        return Sickness(NOT_AUTHORISED, text, _FIX[NOT_AUTHORISED])
    if isinstance(error, QueryTimeoutError):
        return Sickness(ERRORING, text, _QUERY_TIMEOUT_FIX)
    return Sickness(ERRORING, text)


def sick_alert(system: str, sickness: Sickness) -> Finding:
    """The system's own alert, its title naming the sickness and the last error; one subject whatever the kind,
    so a change of kind updates the same alert."""
    details: tuple[str, ...] = ()
    if sickness.kind == UNREACHABLE:
        title = f"{system} cannot be reached: {sickness.error}"
    elif sickness.kind == HUNG:
        title = f"{system} is hung: calls abandoned at the {sickness.deadline or 0:g} s deadline — {sickness.error}"
    elif sickness.kind == NOT_AUTHORISED:
        title = f"{system} is not authorised: {sickness.error}"
        details = ("The bot's profile may read none of what the checks need.",)
    else:
        title = f"{system} is erroring: every check failed — {sickness.error}"
    return Finding(
        system=system,
        check=REACHABILITY,
        severity="critical",
        subject="unreachable",  # kept from when unreachable was the only kind: open alerts keep their identity
        title=title,
        details=details + ((sickness.fix,) if sickness.fix else ()),
        facts={"sickness": sickness.kind},
    )


@dataclass(frozen=True)
class Verdict:
    sickness: Sickness | None  # None: healthy


class HealthJudge:
    """Remembers each check's latest failure per system and judges the system after each run of its checks.
    Thread-safe: groups of one system may run at once."""

    def __init__(self, enabled_checks: Callable[[str], Sequence[str]]) -> None:
        self._enabled_checks = enabled_checks
        self._latest: dict[str, dict[str, IbmiError | None]] = {}
        self._lock = threading.Lock()

    def judge(self, system: str, outcomes: Sequence[tuple[str, IbmiError | None]]) -> Verdict | None:
        """The system's health after one run of some of its checks ((check, its error or None) each);
        None when it cannot be told yet (some enabled check failed or has not run since the start)."""
        if not outcomes:
            return None
        with self._lock:
            latest = self._latest.setdefault(system, {})
            latest.update(outcomes)
            enabled = self._enabled_checks(system)
            known = [latest[check] for check in enabled if check in latest]
        sicknesses = [sickness_of(system, error) for _, error in outcomes if error is not None]
        for kind in (UNREACHABLE, HUNG):
            if connection := next((s for s in sicknesses if s.kind == kind), None):
                return Verdict(connection)
        if len(sicknesses) < len(outcomes) or any(error is None for error in known):
            return Verdict(None)  # a check answered, in this run or at its latest run
        if len(known) < len(enabled):
            return None  # every check of this run failed, but not every check has run yet
        if all(isinstance(error, NotAuthorizedError) for error in known):
            return Verdict(sicknesses[0])
        last = next((s for s in sicknesses if s.kind == ERRORING), sicknesses[0])
        return Verdict(Sickness(ERRORING, last.error, last.fix if last.kind == ERRORING else None))


def _without_system(system: str, text: str) -> str:
    prefix = f"{system}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
