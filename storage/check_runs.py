"""Check runs and system health: what `/ibmi status` shows per system and check.

A system's health is one of HEALTH_STATES: healthy, or sick in one way (unreachable, hung, erroring, not
authorised), with the last error and when that state began.

Times are stored as UTC ISO 8601 text of fixed width, so text order is time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from storage.database import Storage

OUTCOMES = ("ok", "findings", "error")

_LATEST = """
SELECT system, check_id, started_at, duration, outcome, findings, error, lateness FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY started_at DESC, id DESC) AS newest
    FROM check_runs
) WHERE newest = 1
"""

_PRUNE = """
DELETE FROM check_runs WHERE id IN (
    SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (
            PARTITION BY system, check_id ORDER BY started_at DESC, id DESC
        ) AS newest
        FROM check_runs
    ) WHERE newest > ?
)
"""

HEALTHY = "healthy"
HEALTH_STATES = (HEALTHY, "unreachable", "hung", "erroring", "not authorised")
CONNECTION_SICKNESSES = ("unreachable", "hung")  # the system does not answer at all

_UPSERT_HEALTH = """
INSERT INTO system_reachability (system, reachable, error, checked_at, state, since) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (system) DO UPDATE SET
    reachable = excluded.reachable, error = excluded.error, checked_at = excluded.checked_at,
    state = excluded.state,
    since = CASE WHEN system_reachability.state = excluded.state THEN system_reachability.since ELSE excluded.since END
WHERE excluded.checked_at >= system_reachability.checked_at {only}
"""


@dataclass(frozen=True)
class CheckRun:
    """One run of one check on one system. `started_at` must be timezone-aware; it is kept in UTC."""

    system: str
    check: str
    started_at: datetime
    duration: float  # seconds
    outcome: str  # "ok" | "findings" | "error"
    findings: int = 0
    error: str | None = None
    lateness: float | None = None  # seconds it started after its due time; None: not scheduled (run by hand)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}")
        object.__setattr__(self, "started_at", _utc(self.started_at))

    @property
    def summary(self) -> str:
        """The result in words, e.g. "2 findings", "no findings", "error: …"."""
        if self.outcome == "error":
            return f"error: {self.error or 'unknown error'}"
        if self.findings == 0:
            return "no findings"
        return f"{self.findings} finding{'' if self.findings == 1 else 's'}"


class Reachability(NamedTuple):
    reachable: bool  # it answered: neither unreachable nor hung
    error: str | None  # what is wrong, when sick
    at: datetime  # when this was last reported
    state: str = HEALTHY  # one of HEALTH_STATES
    since: datetime | None = None  # when the system entered this state


def record_run(storage: Storage, run: CheckRun) -> None:
    """One statement prepared once (sqlite-utils' `insert` reads the table's layout on every call: most of the
    cost of recording a run)."""
    with storage.transaction() as db:
        db.execute(
            "INSERT INTO check_runs (system, check_id, started_at, duration, outcome, findings, error, lateness) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.system,
                run.check,
                _to_text(run.started_at),
                run.duration,
                run.outcome,
                run.findings,
                run.error,
                run.lateness,
            ],
        )


def last_runs(storage: Storage) -> dict[tuple[str, str], CheckRun]:
    """The latest run of every (system, check) pair."""
    runs = _latest(storage, "system, check_id")
    return {(run.system, run.check): run for run in runs}


def last_run_per_system(storage: Storage) -> dict[str, CheckRun]:
    """The latest run of any check, per system."""
    return {run.system: run for run in _latest(storage, "system")}


def prune_runs(storage: Storage, keep_per_check: int = 500) -> int:
    """Delete all but the newest `keep_per_check` runs of each (system, check); return how many went."""
    if keep_per_check < 0:
        raise ValueError(f"keep_per_check must be 0 or more, not {keep_per_check}")
    with storage.transaction() as db:
        return db.execute(_PRUNE, [keep_per_check]).rowcount


def record_health(storage: Storage, system: str, state: str, error: str | None, at: datetime) -> None:
    """`system`'s health as of `at` (its error, when sick). An older report never replaces a newer one; the
    state's `since` is kept while the state stays the same."""
    _upsert_health(storage, system, state, error, at, only="")


def record_answered(storage: Storage, system: str, at: datetime) -> None:
    """`system` answered at `at` (a read outside the checks): it is no longer unreachable or hung. Whether it
    is erroring or not authorised is the checks' to say, so those states stay."""
    only = f"AND system_reachability.state IN ('{HEALTHY}', " + ", ".join(f"'{s}'" for s in CONNECTION_SICKNESSES) + ")"
    _upsert_health(storage, system, HEALTHY, None, at, only=only)


def _upsert_health(storage: Storage, system: str, state: str, error: str | None, at: datetime, only: str) -> None:
    if state not in HEALTH_STATES:
        raise ValueError(f"health {state!r} is not one of {', '.join(HEALTH_STATES)}")
    moment = _to_text(_utc(at))
    reachable = state not in CONNECTION_SICKNESSES
    with storage.transaction() as db:
        db.execute(_UPSERT_HEALTH.format(only=only), [system, int(reachable), error, moment, state, moment])


def reachability(storage: Storage) -> dict[str, Reachability]:
    """The last known health of every system that has been contacted."""
    with storage.reading() as db:
        rows = list(db.query("SELECT system, reachable, error, checked_at, state, since FROM system_reachability"))
    return {
        row["system"]: Reachability(
            bool(row["reachable"]),
            row["error"],
            _from_text(row["checked_at"]),
            row["state"],
            _from_text(row["since"]) if row["since"] else None,
        )
        for row in rows
    }


def _latest(storage: Storage, partition: str) -> list[CheckRun]:
    with storage.reading() as db:
        rows = list(db.query(_LATEST.format(partition=partition)))
    return [_run_from_row(row) for row in rows]


def _run_from_row(row: dict[str, Any]) -> CheckRun:
    return CheckRun(
        system=row["system"],
        check=row["check_id"],
        started_at=_from_text(row["started_at"]),
        duration=row["duration"],
        outcome=row["outcome"],
        findings=row["findings"],
        error=row["error"],
        lateness=row["lateness"],
    )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; expected an aware datetime (UTC)")
    return moment.astimezone(UTC)


def _to_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)
