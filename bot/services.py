"""What the Slack handlers and the CLI may ask of the bot. Handlers never touch IBM i directly.

`WardenServices` is the one implementation; handler tests may pass any object with these methods.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.alerting.lifecycle import AlertManager
from bot.alerting.owners import OwnerEnricher
from bot.alerting.silences import SilenceService
from bot.approvals import ApprovalService
from bot.blocks import escape_mrkdwn, text_blocks
from bot.checks import registry
from bot.checks.cycle import CheckOutcome, PlannedCheck, run_checks
from bot.checks.definition import CheckTarget, system_host
from bot.checks.finding import Finding
from bot.command_parsing import EndRequest, TrustRequest
from bot.config import EVERYONE, Config, SystemSettings
from bot.home_view import home_view
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.errors import ConnectionFailedError, DriverMissingError, IbmiError
from bot.ibmi_settings import open_system
from bot.net import TrustList, is_local
from bot.remediation import Remediation
from bot.reports import CheckStatus, NetstatEntry, NetstatReport, SystemStatus
from bot.request_blocks import reply
from bot.roles import Roles
from bot.trace import TraceError, Tracer, describe_owner
from storage import Storage, outbox
from storage.alerts import active_silences, open_alerts
from storage.alerts import alert as stored_alert
from storage.approvals import ChangeRequest, trusted_networks
from storage.approvals import pending as pending_requests
from storage.check_runs import (
    CheckRun,
    last_run_per_system,
    last_runs,
    prune_runs,
    reachability,
    record_reachability,
    record_run,
)

log = logging.getLogger(__name__)

REACHABILITY = "reachability"
KEEP_RUNS_PER_CHECK = 500
KEEP_DELIVERED_SECONDS = 14 * 86400


def unreachable(system: str, error: str) -> Finding:
    return Finding(
        system=system,
        check=REACHABILITY,
        severity="critical",
        subject="unreachable",
        title=f"{system} cannot be reached",
        details=(error,),
    )


class Services(Protocol):
    def system_names(self) -> list[str]: ...

    def system_statuses(self) -> list[SystemStatus]: ...

    def netstat(self, system: str, port: int | None = None) -> NetstatReport: ...

    def may_view(self, user_id: str) -> bool: ...

    def may_operate(self, user_id: str) -> bool: ...

    def silence_alert(self, fingerprint: str, author: str, seconds: float, reason: str) -> str: ...

    def request_from_alert(self, fingerprint: str, action: str, user: str, reason: str) -> str: ...

    def trace_alert(self, fingerprint: str) -> str: ...


@dataclass(frozen=True)
class CycleResult:
    findings: tuple[Finding, ...]
    errors: dict[str, str]  # "SYSTEM/check" → error text


class WardenServices:
    """The bot's working parts for one configuration: connections, checks and their records."""

    def __init__(
        self,
        config: Config,
        storage: Storage,
        env: Mapping[str, str] = os.environ,
        alerts: AlertManager | None = None,
        clock: Callable[[], float] = time.time,
        tracer: Tracer | None = None,
        enricher: OwnerEnricher | None = None,
    ):
        self.config = config
        self.storage = storage
        self.alerts = alerts  # None: findings are returned, not announced (ibmi-warden check)
        self.tracer = tracer
        self.enricher = enricher
        self.roles: Roles | None = None  # set by bot.app.assemble, with the approval workflow
        self.approvals: ApprovalService | None = None
        self.remediation: Remediation | None = None
        self.on_change: Callable[[], None] | None = None  # e.g. republish open App Home tabs
        self.clock = clock
        self._connections = {s.name: open_system(s, env) for s in config.systems}

    def state_changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def home(self, user_id: str) -> dict[str, Any]:
        """The App Home view for one user: only the change requests they may decide get buttons."""
        if not self.may_view(user_id):
            return {"type": "home", "blocks": text_blocks("Only viewers may see the state of the IBM i systems.")}
        now = self.clock()

        def may_decide(request: ChangeRequest) -> bool:
            return (
                self.roles is not None
                and request.requester != user_id
                and self.roles.is_approver(user_id, request.action)
                and request.expires_at > now
            )

        return home_view(
            self.system_statuses(),
            open_alerts(self.storage),
            active_silences(self.storage, now),
            pending_requests(self.storage),
            may_decide,
        )

    def may_view(self, user_id: str) -> bool:
        if self.roles is not None:
            return self.roles.is_viewer(user_id)
        viewers = self.config.roles.viewers  # without Slack (CLI): user ids only
        return EVERYONE in viewers or user_id in viewers or self.may_operate(user_id)

    def may_operate(self, user_id: str) -> bool:
        if self.roles is not None:
            return self.roles.is_operator(user_id)
        return user_id in self.config.roles.operators or user_id in self.config.roles.approvers

    def silence_alert(self, fingerprint: str, author: str, seconds: float, reason: str) -> str:
        return SilenceService(self.storage, self.clock, self.alerts).silence_alert(fingerprint, author, seconds, reason)

    def request_from_alert(self, fingerprint: str, action: str, user: str, reason: str) -> str:
        """Trust… / End connection… on an unknown-connections alert: a change request about its address."""
        record = stored_alert(self.storage, fingerprint)
        address = record.finding.get("facts", {}).get("remote_address") if record else None
        if record is None or not address or self.remediation is None:
            return "That alert is not about an address the bot can act on."
        if action == "trust":
            request = TrustRequest(ipaddress.ip_network(address), reason)
            submitted = self.remediation.request_trust(record.system, request, user, alert_fingerprint=fingerprint)
        else:
            end = EndRequest(ipaddress.ip_address(address), None, reason)
            submitted = self.remediation.request_end(record.system, end, user, alert_fingerprint=fingerprint)
        if self.alerts is not None:  # a form has no reply of its own: answer in the alert's thread
            self.alerts.reply(fingerprint, reply(f"<@{user}> {submitted.text}"))
        return submitted.text

    def trace_alert(self, fingerprint: str) -> str:
        """The owner of the address an alert is about (slow: an RDAP lookup unless cached)."""
        record = stored_alert(self.storage, fingerprint)
        if record is None:
            return "That alert is no longer known to the bot."
        address = record.finding.get("facts", {}).get("remote_address")
        if not address:
            return "This alert is not about an address."
        if self.tracer is None:
            return "Tracing owners is not configured."
        try:
            return f"Owner of {address}: {escape_mrkdwn(describe_owner(self.tracer.trace(address)).summary)}"
        except TraceError as error:
            return f"Could not trace {address}: {escape_mrkdwn(error.message)}"

    def system_names(self) -> list[str]:
        return [s.name for s in self.config.systems]

    def connection(self, system: str) -> SystemConnection:
        return self._connections[self.config.system(system).name]

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

    def run_checks(self, system: str, checks: Sequence[str]) -> dict[str, tuple[list[Finding], str | None]]:
        """Run checks on one system, each source read once for all of them, and record each run.
        Returns each check's findings and its error, if any."""
        settings = self.config.system(system)
        started = datetime.now(UTC)
        planned = []
        for check_id in checks:
            check = registry.check(check_id)
            planned.append(PlannedCheck(check, check.build_settings(self.config.check_for(settings, check_id).options)))
        target = CheckTarget(settings.name, self.effective(settings).trusted, system_host(settings.connection))
        outcomes = run_checks(self.connection(system), target, planned)
        return {outcome.check: self._record(settings.name, started, outcome) for outcome in outcomes}

    def _record(self, system: str, started: datetime, outcome: CheckOutcome) -> tuple[list[Finding], str | None]:
        """Store one check's run and hand it to the alert lifecycle."""
        check, findings, failure = outcome.check, outcome.findings, outcome.error
        error = str(failure) if failure is not None else None
        reachable = not isinstance(failure, ConnectionFailedError | DriverMissingError)
        if error:
            log.warning("%s/%s failed: %s", system, check, error)
        else:
            log.info("%s/%s: %d finding(s) in %.1fs", system, check, len(findings), outcome.duration)
        result = "error" if error else ("findings" if findings else "ok")
        record_run(self.storage, CheckRun(system, check, started, outcome.duration, result, len(findings), error))
        record_reachability(self.storage, system, reachable, error if not reachable else None, started)
        self._announce(system, check, findings, error, reachable)
        return findings, error

    def _announce(self, system: str, check: str, findings: list[Finding], error: str | None, reachable: bool) -> None:
        """Hand the run to the alert lifecycle. A failed run resolves nothing; an unreachable system is
        one alert of its own, resolved ("reachable again") by the next run that reaches it."""
        if self.alerts is None:
            return
        if error is None:
            result = self.alerts.process(system, check, findings)
            reachability_result = self.alerts.process(system, REACHABILITY, [])
            if self.enricher is not None and result.new:
                self.enricher.enrich(result.new)
            if result.changed or reachability_result.changed:
                self.state_changed()
        elif not reachable:
            if self.alerts.process(system, REACHABILITY, [unreachable(system, error)]).changed:
                self.state_changed()

    def run_cycle(self, system: str | None = None) -> CycleResult:
        """Every enabled check on every system (or one), each system's sources read once.
        One failing system never stops the others."""
        systems = [self.config.system(system).name] if system else self.system_names()
        findings: list[Finding] = []
        errors: dict[str, str] = {}
        for name in systems:
            for check, (found, error) in self.run_checks(name, self.enabled_checks(name)).items():
                findings.extend(found)
                if error:
                    errors[f"{name}/{check}"] = error
        return CycleResult(tuple(findings), errors)

    def system_statuses(self) -> list[SystemStatus]:
        runs = last_run_per_system(self.storage)
        per_check = last_runs(self.storage)
        reach = reachability(self.storage)
        statuses = []
        for settings in self.config.systems:
            run = runs.get(settings.name)
            reachable, error, _ = reach.get(settings.name, (None, None, None))
            statuses.append(
                SystemStatus(
                    name=settings.name,
                    connection_kind="demo" if settings.is_demo else "odbc",
                    reachable=reachable,
                    error=error,
                    last_check_at=run.started_at if run else None,
                    last_check=run.check if run else None,
                    last_duration=run.duration if run else None,
                    last_result=run.summary if run else None,
                    checks=tuple(
                        CheckStatus(r.check, r.started_at, r.duration, r.summary)
                        for (system, _), r in sorted(per_check.items())
                        if system == settings.name
                    ),
                )
            )
        return statuses

    def netstat(self, system: str, port: int | None = None) -> NetstatReport:
        settings = self.config.system(system)
        try:
            rows = sql.read_tcp_connections(self.connection(settings.name))
        except IbmiError as error:
            if isinstance(error, ConnectionFailedError | DriverMissingError):
                record_reachability(self.storage, settings.name, False, str(error), datetime.now(UTC))
            return NetstatReport(settings.name, (), port, note=f"NETSTAT not readable: {error}")
        record_reachability(self.storage, settings.name, True, None, datetime.now(UTC))
        trusted = TrustList(self.effective(settings).trusted)
        entries = []
        for row in rows:
            address = row.remote_ip
            if row.is_listening or row.remote_port == 0 or address is None:
                continue
            if port is not None and port not in (row.local_port, row.remote_port):
                continue
            entries.append(
                NetstatEntry(
                    remote_address=address.compressed,
                    remote_port=row.remote_port,
                    local_address=row.local_address,
                    local_port=row.local_port,
                    local_port_name=row.local_port_name,
                    tcp_state=row.tcp_state,
                    idle_time=row.idle_time,
                    trusted=is_local(address) or address in trusted,
                    loopback=is_local(address),
                )
            )
        entries.sort(key=lambda e: (e.trusted, e.local_port, e.remote_address, e.remote_port))
        note = None
        if not any(r.is_listening for r in rows):
            note = "NETSTAT shows no listening sockets: the bot's profile may not see every connection"
        return NetstatReport(settings.name, tuple(entries), port, note)

    def effective(self, settings: SystemSettings) -> SystemSettings:
        """The system's settings with the networks trusted by approval added to `trusted`."""
        approved = tuple(ipaddress.ip_network(n) for n in trusted_networks(self.storage, settings.name))
        return replace(settings, trusted=settings.trusted + approved) if approved else settings

    def maintain(self) -> None:
        """Keep the database small: old check runs, delivered outbox rows and expired owner lookups."""
        prune_runs(self.storage, keep_per_check=KEEP_RUNS_PER_CHECK)
        outbox.prune(self.storage, self.clock() - KEEP_DELIVERED_SECONDS)
        if self.tracer is not None:
            self.tracer.prune()

    def close(self) -> None:
        if self.enricher is not None:
            self.enricher.close()
        for connection in self._connections.values():
            connection.close()
