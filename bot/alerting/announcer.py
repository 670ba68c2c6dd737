"""The running bot's announcer: each recorded check run handed to the alert lifecycle."""

from __future__ import annotations

from bot.alerting.lifecycle import AlertManager
from bot.alerting.owners import OwnerEnricher
from bot.check_runner import REACHABILITY, unreachable
from bot.checks.finding import Finding
from bot.state_changes import StateChanges


class AlertAnnouncer:
    """Hands each run to the alert lifecycle, new alerts to the owner look-up, and says when the state changed."""

    def __init__(self, alerts: AlertManager, enricher: OwnerEnricher, changes: StateChanges) -> None:
        self.alerts = alerts
        self.enricher = enricher
        self.changes = changes

    def announce(
        self,
        system: str,
        check: str,
        findings: list[Finding],
        error: str | None,
        reachable: bool,
        degraded: bool = False,
    ) -> None:
        """A failed run resolves nothing; an unreachable or degraded system is one alert of its own, resolved
        ("reachable again") by the next run that reaches it."""
        if error is None:
            result = self.alerts.process(system, check, findings)
            reachability_result = self.alerts.process(system, REACHABILITY, [])
            if result.new:
                self.enricher.enrich(result.new)
            if result.changed or reachability_result.changed:
                self.changes.notify()
        elif not reachable:
            if self.alerts.process(system, REACHABILITY, [unreachable(system, error, degraded)]).changed:
                self.changes.notify()
