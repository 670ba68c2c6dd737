"""Running the checks: which are enabled on each system and how often, one run of a group reading each data
source once (bot.checks.cycle), recording every run and the system's health (bot.health, judged once per run of
a group), and handing both to an `Announcer` (the alert lifecycle in the running bot; nothing for
`ibmi-warden check`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.changes.executed import bot_commands
from bot.changes.smtp_restart import approved_smtp_changes
from bot.checks import registry
from bot.checks.cycle import CheckOutcome, PlannedCheck, run_checks
from bot.checks.definition import CheckTarget, system_host
from bot.checks.finding import Finding
from bot.checks.refusals import RefusalMemory
from bot.config import Config, SystemSettings
from bot.health import HEALTHY, HealthJudge, Sickness
from bot.ibmi.errors import AbandonedAtStopError
from bot.journal_memory import StoredJournal
from bot.systems import Systems
from storage import Storage
from storage.check_runs import CheckRun, record_health, record_run
from storage.database import StorageFailure

log = logging.getLogger(__name__)

# The bot's commands are read this much further back than a check's window: a journal read behind a backlog judges
# a window ending before now.
BOT_COMMANDS_MARGIN = 86400.0


@dataclass(frozen=True)
class CycleResult:
    findings: tuple[Finding, ...]
    errors: dict[str, str]  # "SYSTEM/check" → error text


class Announcer(Protocol):
    """Told of every recorded run, and of the system's health after each run of its checks."""

    def announce(self, system: str, check: str, findings: list[Finding], error: str | None) -> None: ...

    def announce_health(self, system: str, sickness: Sickness | None) -> None: ...


class NotAnnounced:
    """For a one-off cycle in the terminal: findings are returned, not announced."""

    def announce(self, system: str, check: str, findings: list[Finding], error: str | None) -> None:
        return None

    def announce_health(self, system: str, sickness: Sickness | None) -> None:
        return None


class CheckRunner:
    def __init__(
        self,
        config: Config,
        storage: Storage,
        systems: Systems,
        announcer: Announcer,
        refusals: RefusalMemory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.storage = storage
        self.systems = systems
        self.announcer = announcer
        self.refusals = refusals if refusals is not None else RefusalMemory()
        self._unrecorded_in_outage = 0  # the storage outage whose unrecorded runs were last said
        self.health = HealthJudge(self.enabled_checks)

    def enabled_checks(self, system: str) -> list[str]:
        settings = self.config.system(system)
        return [c for c in registry.check_ids() if self.config.check_for(settings, c).enabled]

    def check_interval(self, system: str, check: str) -> float:
        interval = self.config.check_for(self.config.system(system), check).interval
        return interval or registry.check(check).default_interval

    def check_groups(self, system: str) -> dict[float, list[str]]:
        """The system's enabled checks by interval: each group runs together, reading its sources once."""
        groups: dict[float, list[str]] = {}
        for check in self.enabled_checks(system):
            groups.setdefault(self.check_interval(system, check), []).append(check)
        return groups

    def run_check(self, system: str, check: str) -> tuple[list[Finding], str | None]:
        """Run one check on one system and record the run; returns its findings and its error, if any."""
        return self.run_checks(system, [check])[check]

    def run_checks(
        self, system: str, checks: Sequence[str], lateness: float | None = None
    ) -> dict[str, tuple[list[Finding], str | None]]:
        """Run checks on one system, each source read once for all of them, and record each run (with its
        lateness: seconds it started after its due time, when scheduled). Returns each check's findings and
        its error, if any."""
        settings = self.config.system(system)
        started = datetime.now(UTC)
        planned = []
        for check_id in checks:
            check = registry.check(check_id)
            planned.append(PlannedCheck(check, check.build_settings(self.config.check_for(settings, check_id).options)))
        target = self._target(settings, planned)
        journal = StoredJournal(self.storage, settings.name, self.clock)
        outcomes = run_checks(self.systems.connection(system), target, planned, refusals=self.refusals, journal=journal)
        if any(isinstance(outcome.error, AbandonedAtStopError) for outcome in outcomes):
            log.info("%s/%s: cut short by the bot stopping; not recorded", settings.name, "+".join(checks))
            return {outcome.check: ([], str(outcome.error) if outcome.error else None) for outcome in outcomes}
        results = {
            outcome.check: self._record_unless_storage_fails(settings.name, started, outcome, lateness)
            for outcome in outcomes
        }
        try:
            self._record_health(settings.name, started, outcomes)
        except StorageFailure:
            pass  # said once per outage by _record_unless_storage_fails; judged again at the next run
        return results

    def _target(self, settings: SystemSettings, planned: Sequence[PlannedCheck]) -> CheckTarget:
        """What the planned checks are told of the system: the settings of the checks they borrow from, and the
        commands the bot ran there by approval when one of them judges those."""
        borrowed = {check_id for p in planned for check_id in p.check.borrows}
        settings_of = {
            check_id: registry.check(check_id).build_settings(self.config.check_for(settings, check_id).options)
            for check_id in sorted(borrowed)
        }
        windows = [p.settings.window for p in planned if p.check.reads_bot_commands]
        ran = (
            bot_commands(self.storage, settings.name, self.clock() - max(windows) - BOT_COMMANDS_MARGIN)
            if windows
            else ()
        )
        return CheckTarget(
            settings.name,
            self.systems.effective(settings).trusted,
            system_host(settings.connection),
            approved_smtp_changes(self.storage, settings.name),
            bot_commands=ran,
            settings_of=settings_of,
        )

    def _record_unless_storage_fails(
        self, system: str, started: datetime, outcome: CheckOutcome, lateness: float | None
    ) -> tuple[list[Finding], str | None]:
        """`_record`; when the database refuses it the run still counts (its findings are returned, and alerted
        at the next run that can be recorded), and that runs are not recorded is said once per outage."""
        try:
            return self._record(system, started, outcome, lateness)
        except StorageFailure as failure:
            outage = self.storage.health.outages
            if outage != self._unrecorded_in_outage:
                self._unrecorded_in_outage = outage
                log.warning(
                    "%s/%s ran, but its run could not be recorded nor its findings alerted (%s); no check run is "
                    "recorded until the database takes writes again (said once per outage)",
                    system,
                    outcome.check,
                    failure.problem.reason,
                )
            return outcome.findings, str(outcome.error) if outcome.error is not None else None

    def _record(
        self, system: str, started: datetime, outcome: CheckOutcome, lateness: float | None = None
    ) -> tuple[list[Finding], str | None]:
        """Store one check's run and announce it."""
        check, findings, failure = outcome.check, outcome.findings, outcome.error
        error = str(failure) if failure is not None else None
        if error:
            log.warning("%s/%s failed: %s", system, check, error)
        else:
            log.info("%s/%s: %d finding(s) in %.1fs", system, check, len(findings), outcome.duration)
        result = "error" if error else ("findings" if findings else "ok")
        record_run(
            self.storage, CheckRun(system, check, started, outcome.duration, result, len(findings), error, lateness)
        )
        self.announcer.announce(system, check, findings, error)
        return findings, error

    def _record_health(self, system: str, started: datetime, outcomes: Sequence[CheckOutcome]) -> None:
        """Judge the system once for the whole run, store its health and announce it (when it can be told)."""
        verdict = self.health.judge(system, [(outcome.check, outcome.error or outcome.refused) for outcome in outcomes])
        if verdict is None:
            return
        sickness = verdict.sickness
        if sickness is None:
            record_health(self.storage, system, HEALTHY, None, started)
        else:
            log.warning("%s is %s: %s", system, sickness.kind, sickness.detail)
            record_health(self.storage, system, sickness.kind, sickness.detail, started)
        self.announcer.announce_health(system, sickness)

    def run_cycle(self, system: str | None = None) -> CycleResult:
        """Every enabled check on every system (or one), each system's sources read once; systems in parallel,
        at most [scheduler] max_parallel_systems at once. One failing system never stops the others."""
        systems = [self.config.system(system).name] if system else self.systems.names()
        findings: list[Finding] = []
        errors: dict[str, str] = {}
        workers = min(len(systems), self.config.scheduler.max_parallel_systems) or 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check") as pool:
            results = list(pool.map(lambda name: self.run_checks(name, self.enabled_checks(name)), systems))
        for name, result in zip(systems, results, strict=True):
            for check, (found, error) in result.items():
                findings.extend(found)
                if error:
                    errors[f"{name}/{check}"] = error
        return CycleResult(tuple(findings), errors)
