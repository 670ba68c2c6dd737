"""Builds the bot's parts from the configuration: the services behind Slack, and the Bolt App."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App

import handlers
from bot import __version__
from bot.alerting.lifecycle import AlertManager
from bot.alerting.owners import OwnerEnricher
from bot.approvals import ApprovalService
from bot.audit_anchor import attach_audit_key
from bot.checks import registry
from bot.config import Config, Secrets
from bot.delivery import SYSTEM_CLOCK, Clock, DeliveryWorker
from bot.remediation import Remediation
from bot.roles import Roles
from bot.services import WardenServices
from bot.slack_client import make_web_client
from bot.trace import Tracer
from storage import Storage, open_database

WORK_THREADS = 8  # slow answers (IBM i, RDAP, change requests) run here, never on an ack's thread


@dataclass
class BotParts:
    storage: Storage
    delivery: DeliveryWorker
    alerts: AlertManager
    services: WardenServices

    def close(self) -> None:
        self.delivery.stop()
        self.services.close()
        self.storage.close()


def assemble(config: Config, secrets: Secrets, clock: Clock = SYSTEM_CLOCK, tracer: Tracer | None = None) -> BotParts:
    """Storage, the outbox's delivery worker, the alert lifecycle, owner tracing and the services."""
    storage = open_database(config.storage.path, __version__)
    attach_audit_key(storage, secrets)
    client = make_web_client(secrets.slack_bot_token, secrets.slack_api_url)
    delivery = DeliveryWorker(storage, client, clock=clock)
    alerts = AlertManager(
        storage,
        config.alerts,
        config.slack.alert_routes,
        clock=clock.now,
        on_enqueued=delivery.wake,
        runbook_url=runbook_url_of(config),
    )
    tracer = tracer or Tracer(
        storage,
        ttl=config.trace.ttl,
        timeout=config.trace.timeout,
        asn_methods=config.trace.asn_methods,
        max_concurrent=config.trace.max_concurrent,
        clock=clock.now,
    )
    services = WardenServices(
        config, storage, alerts=alerts, clock=clock.now, tracer=tracer, enricher=OwnerEnricher(storage, tracer, alerts)
    )
    services.roles = Roles(config.roles, config.approvals, client, clock=clock.now)

    def requests_changed() -> None:
        delivery.wake()
        services.state_changed()  # the App Home shows pending requests

    services.approvals = ApprovalService(
        storage, config, services.roles, services.connection, clock.now, alerts=alerts, on_enqueued=requests_changed
    )
    services.remediation = Remediation(storage, services.approvals, tracer, services.connection, clock.now)
    return BotParts(storage, delivery, alerts, services)


def runbook_url_of(config: Config) -> Callable[[str], str | None]:
    """Each check's runbook page (<package>/runbook.md under slack.runbook_base_url); None for anything else."""

    def url(check: str) -> str | None:
        path = registry.runbook_path(check)
        return f"{config.slack.runbook_base_url}{path}" if path else None

    return url


class _IgnoreTokenFromEnvironment(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused whenever a client is passed; here that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(config: Config, secrets: Secrets, services: WardenServices, http: bool) -> App:
    """process_before_response=True answers each request from its own thread once the listener returns;
    listeners ack and hand slow work to the bot's work pool, so a slow IBM i never delays an ack."""
    bolt_log = logging.getLogger("slack_bolt")
    bolt_log.addFilter(_IgnoreTokenFromEnvironment())
    app = App(
        client=make_web_client(secrets.slack_bot_token, secrets.slack_api_url),
        signing_secret=secrets.slack_signing_secret if http else None,
        request_verification_enabled=http,
        process_before_response=True,
        logger=bolt_log,
    )
    work = ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="warden-work")
    app.warden_work = work  # the Runner drains it at shutdown, so an approved command's outcome is recorded
    handlers.register(app, services, config, work)
    return app
