"""The running bot's announcer: each recorded check run, and each judgement of a system's health, handed to
the alert lifecycle."""

from __future__ import annotations

from bot.alerting.lifecycle import AlertManager
from bot.alerting.owners import OwnerEnricher
from bot.alerting.render import kind_changed_reply, kind_of
from bot.checks.finding import Finding
from bot.health import REACHABILITY, Sickness, sick_alert
from bot.state_changes import StateChanges
from storage.alerts import alert


class AlertAnnouncer:
    """Hands each run to the alert lifecycle, new alerts to the owner look-up, and says when the state changed."""

    def __init__(self, alerts: AlertManager, enricher: OwnerEnricher, changes: StateChanges) -> None:
        self.alerts = alerts
        self.enricher = enricher
        self.changes = changes

    def announce(self, system: str, check: str, findings: list[Finding], error: str | None) -> None:
        """A failed run resolves nothing: it is the check's error, or part of the system's sickness."""
        if error is not None:
            return
        result = self.alerts.process(system, check, findings)
        if result.new:
            self.enricher.enrich(result.new)
        if result.changed:
            self.changes.notify()

    def announce_health(self, system: str, sickness: Sickness | None) -> None:
        """A sick system is one alert of its own: posted once, edited (and said in its thread) when the kind
        of sickness changes, resolved ("healthy again") by the first healthy judgement."""
        if sickness is None:
            if self.alerts.process(system, REACHABILITY, []).changed:
                self.changes.notify()
            return
        finding = sick_alert(system, sickness)
        previous = alert(self.alerts.storage, finding.fingerprint)
        changed = self.alerts.process(system, REACHABILITY, [finding]).changed
        if previous is not None and previous.state == "open" and kind_of(previous) != sickness.kind:
            self.alerts.reply(finding.fingerprint, kind_changed_reply(finding))
            self.alerts.refresh([finding.fingerprint])
            changed = True
        if changed:
            self.changes.notify()
