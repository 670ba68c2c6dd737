"""The composition root: every service of the running bot built once, in dependency order, each given its
dependencies in its constructor; the smaller set `ibmi-warden check` and `demo` need without Slack; and the
Bolt App with the handlers registered. The one module of `bot` that imports `handlers`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_bolt import App

import handlers
from bot import __version__
from bot.alerting.announcer import AlertAnnouncer
from bot.alerting.lifecycle import AlertManager
from bot.alerting.owners import OwnerEnricher
from bot.alerting.silences import SilenceService
from bot.audit_anchor import attach_audit_key
from bot.changes.alert_actions import AlertActions
from bot.changes.approvals import ApprovalService
from bot.changes.requests import ChangeRequests
from bot.check_runner import CheckRunner
from bot.checks import registry
from bot.collector import suit_large_cycles
from bot.config import Config, Secrets
from bot.lanes import Lanes
from bot.maintenance import Maintenance
from bot.slack.client import make_web_client
from bot.slack.delivery import SYSTEM_CLOCK, Clock, DeliveryWorker
from bot.slack.home_publisher import HomePublisher
from bot.slack.home_view import HomeView
from bot.slack.identity import OwnIdentity
from bot.slack.permalinks import Permalinks
from bot.slack.roles import Roles
from bot.slack.storage_alarm import StorageAlarm
from bot.state_changes import StateChanges
from bot.systems import Systems
from bot.trace import Tracer
from bot.work import Work
from handlers.gate import Gate
from handlers.origin import Origin, ReplayCache
from handlers.ports import HandlerServices
from storage import Storage, open_database

log = logging.getLogger(__name__)

SHARED_WORK_THREADS = 8  # slow answers that wait for no IBM i (RDAP, storage, Slack), never on an ack's thread
LANES_STOP_SECONDS = 5.0  # at stop, how long running IBM i work may take to end once its calls are abandoned
SHARED_STOP_SECONDS = 2.0  # then how long the shared work may take


@dataclass(frozen=True)
class Bot:
    """The running bot's services, each built once by `build_bot`."""

    config: Config
    clock: Clock
    storage: Storage
    delivery: DeliveryWorker
    alerts: AlertManager
    tracer: Tracer
    enricher: OwnerEnricher
    silences: SilenceService
    roles: Roles
    systems: Systems
    changes: StateChanges
    checks: CheckRunner
    approvals: ApprovalService
    requests: ChangeRequests
    alert_actions: AlertActions
    home: HomeView
    home_publisher: HomePublisher  # the App Home republished on its own worker when the state changes
    maintenance: Maintenance
    lanes: Lanes  # each system's IBM i work: its checks, commands and approved CL
    work: Work  # slow answers to Slack: in the system's lane, or on the shared pool
    _closed: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def close(self) -> None:
        """Stop in order, each step bounded: the lanes (calls waiting for IBM i give up, so an executing
        command ends "unknown" and is recorded), the shared work, delivery, the connections, and the database
        last. Work still running after its bound keeps the connections and the database open (the process is
        ending), so nothing touches a closed database. A second call does nothing."""
        if self._closed.is_set():
            return
        self._closed.set()
        lanes_ended = self.lanes.stop(LANES_STOP_SECONDS, abandon=self.systems.abandon_calls)
        shared_ended = self.work.stop(SHARED_STOP_SECONDS)
        self.home_publisher.stop()
        self.delivery.stop()
        self.enricher.close()
        if not (lanes_ended and shared_ended):
            log.error("work still running at stop: the database is left open for it")
            return
        self.systems.close()
        self.storage.close()


def build_bot(config: Config, secrets: Secrets, clock: Clock = SYSTEM_CLOCK, tracer: Tracer | None = None) -> Bot:
    """Every service of the bot that joins Slack. `tracer` replaces the RDAP tracer (tests, benchmarks)."""
    suit_large_cycles()
    storage = open_database(config.storage.path, __version__)
    try:
        attach_audit_key(storage, secrets)  # a keyed log refuses to be written without its key
    except Exception:
        storage.close()
        raise
    client = make_web_client(secrets.slack_bot_token, secrets.slack_api_url)
    storage.health.clock = clock.now
    storage.health.subscribe(StorageAlarm(client, config.slack.alerts_channel, clock.now))
    permalinks = Permalinks(client)
    delivery = DeliveryWorker(
        storage, client, clock=clock, fallback_channel=config.slack.fallback_channel, on_posted=permalinks.posted
    )
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
    enricher = OwnerEnricher(storage, tracer, alerts)
    silences = SilenceService(storage, clock.now, alerts)
    roles = Roles(config.roles, config.approvals, client, clock=clock.now)
    systems = Systems(config, storage)
    changes = StateChanges()
    checks = CheckRunner(config, storage, systems, AlertAnnouncer(alerts, enricher, changes))

    def requests_changed() -> None:
        delivery.wake()
        changes.notify()  # the App Home shows pending requests

    approvals = ApprovalService(
        storage, config, roles, systems.connection, clock.now, alerts=alerts, on_enqueued=requests_changed
    )
    requests = ChangeRequests(storage, approvals, tracer, silences, systems.connection, permalinks.of_key)
    home = HomeView(storage, systems, roles, clock.now)
    home_publisher = HomePublisher(client, home.view, roles.is_viewer)
    changes.subscribe(home_publisher.changed)
    lanes = Lanes(systems.names(), config.scheduler.max_parallel_systems, config.scheduler.max_waiting, clock=clock.now)
    return Bot(
        config=config,
        clock=clock,
        storage=storage,
        delivery=delivery,
        alerts=alerts,
        tracer=tracer,
        enricher=enricher,
        silences=silences,
        roles=roles,
        systems=systems,
        changes=changes,
        checks=checks,
        approvals=approvals,
        requests=requests,
        alert_actions=AlertActions(storage, tracer, silences, requests, alerts),
        home=home,
        home_publisher=home_publisher,
        maintenance=Maintenance(storage, tracer, clock.now, config.storage.retention),
        lanes=lanes,
        work=Work(lanes, SHARED_WORK_THREADS),
    )


def runbook_url_of(config: Config) -> Callable[[str], str | None]:
    """Each check's runbook page (<package>/runbook.md under slack.runbook_base_url); None for anything else."""

    def url(check: str) -> str | None:
        path = registry.runbook_path(check)
        return f"{config.slack.runbook_base_url}{path}" if path else None

    return url


def handler_services(bot: Bot) -> HandlerServices:
    """What the Slack handlers may call, one port each; mypy checks here that the bot's parts satisfy them."""
    return HandlerServices(
        roles=bot.roles,
        systems=bot.systems,
        alerts=bot.alert_actions,
        requests=bot.requests,
        approvals=bot.approvals,
        home=bot.home,
        home_publisher=bot.home_publisher,
        delivery=bot.delivery,
        storage=bot.storage.health,
    )


class _IgnoreTokenFromEnvironment(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused whenever a client is passed; here that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(bot: Bot, secrets: Secrets, http: bool) -> App:
    """process_before_response=True answers each request from its own thread once the listener returns;
    listeners ack and hand slow work to the bot's work pool, so a slow IBM i never delays an ack."""
    bolt_log = logging.getLogger("slack_bolt")
    bolt_log.addFilter(_IgnoreTokenFromEnvironment())
    client = make_web_client(secrets.slack_bot_token, secrets.slack_api_url)
    app = App(
        client=client,
        signing_secret=secrets.slack_signing_secret if http else None,
        request_verification_enabled=http,
        token_verification_enabled=False,  # the Runner waits for auth.test before joining Slack
        process_before_response=True,
        logger=bolt_log,
    )
    slack = bot.config.slack
    identity = OwnIdentity(client, slack.team_id, slack.app_id, clock=bot.clock.now)  # asked on the first request
    gate = Gate(bot.roles, bot.storage, bot.clock.now)
    origin = Origin(gate, identity, ReplayCache(bot.clock.now))
    handlers.register(app, handler_services(bot), gate, origin, slack.command, bot.work)
    return app
