"""Running the bot: Socket Mode or HTTP on waitress, the check scheduler, and a clean shutdown."""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.audit_anchor import ANCHOR_INTERVAL_MINUTES, post_scheduled_anchor
from bot.check_schedule import CheckSchedule
from bot.config import HttpSettings
from bot.http_limits import WSGIApp, limit_request_bodies, waitress_options
from bot.listen import ListenError, listen_problem
from bot.slack.digest import post_scheduled_digest
from bot.slack.startup import wait_for_slack
from bot.wiring import Bot

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def start_check_schedule(bot: Bot) -> CheckSchedule:
    """Each system's checks, one entry per group sharing an interval, put in the system's lane when due."""
    schedule = CheckSchedule(bot.systems.names(), bot.checks, bot.lanes)
    schedule.start()
    return schedule


def start_scheduler(bot: Bot) -> BackgroundScheduler:
    """The bot's housekeeping, none of it waiting for IBM i: maintenance, expiring requests, usergroups, the
    audit anchor and the digest. A run late for a thread still runs (no misfire grace); missed runs coalesce."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"misfire_grace_time": None, "coalesce": True})
    scheduler.add_job(
        bot.maintenance.run,
        "interval",
        hours=6,
        max_instances=1,
        coalesce=True,
        id="maintenance",
        next_run_time=_soon(),
    )
    scheduler.add_job(
        bot.approvals.expire, "interval", seconds=60, max_instances=1, coalesce=True, id="expire-requests"
    )
    scheduler.add_job(  # keep @usergroup members cached, so role checks on the ack path need no call
        bot.roles.prefetch,
        "interval",
        seconds=max(30.0, bot.roles.ttl / 3),
        max_instances=1,
        coalesce=True,
        id="resolve-usergroups",
        next_run_time=_soon(),
    )
    if bot.config.slack.audit_channel:  # the audit head, posted outside the host once per new head
        scheduler.add_job(
            post_scheduled_anchor,
            "interval",
            args=(bot.storage, bot.config, bot.clock.now, bot.delivery.wake),
            minutes=ANCHOR_INTERVAL_MINUTES,
            id="anchor-audit-head",
            max_instances=1,
            coalesce=True,
            next_run_time=_soon(),
        )
    digest = bot.config.digest
    if digest.enabled:  # one message a day at digest.time, local to digest.timezone
        scheduler.add_job(
            post_scheduled_digest,
            "cron",
            args=(bot.storage, bot.config, bot.clock.now, bot.delivery.wake),
            hour=digest.hour,
            minute=digest.minute,
            timezone=digest.timezone,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
            id="daily-digest",
        )
    scheduler.start()
    return scheduler


def _soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=random.uniform(1, 5))


def wsgi_application(app: App, max_body_bytes: int = HttpSettings.max_body_bytes) -> WSGIApp:
    """Bolt's WSGI adapter on /slack/events, plus a health check for load balancers, behind a guard that
    refuses a body of more than `max_body_bytes` before it is read."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return bolt(environ, start_response)

    return limit_request_bodies(application, max_body_bytes)


class HttpServer:
    """Waitress listening on HOST:PORT from construction (so a busy port is known before anything else starts),
    serving in a background thread from `start`, with the limits of `settings` ([http])."""

    def __init__(
        self, app: App, host: str, port: int, settings: HttpSettings | None = None, ident: str = "ibmi-warden"
    ) -> None:
        from waitress import create_server

        settings = settings or HttpSettings()
        try:
            self._server = create_server(
                wsgi_application(app, settings.max_body_bytes),
                host=host,
                port=port,
                ident=ident,
                **waitress_options(settings),
            )
        except OSError as error:  # socket.gaierror is one too
            raise ListenError(listen_problem(host, port, error)) from None
        self.port: int = self._server.effective_port
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        from waitress import wasyncore

        if not self._thread.is_alive():
            wasyncore.close_all(self._server._map)
            return
        # Close every socket from inside waitress's own loop thread (closing them from here would
        # pull file descriptors out from under its select()); the loop ends once none is left.
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._server._map))
        self._thread.join(timeout=5)
        self._server.task_dispatcher.shutdown()


def serve_http(
    app: App, host: str, port: int, settings: HttpSettings | None = None, ident: str = "ibmi-warden"
) -> tuple[int, Callable[[], None]]:
    """Serve the app on waitress in a background thread; returns the port it listens on and its stop function.
    Raises ListenError when it cannot listen there."""
    server = HttpServer(app, host, port, settings, ident)
    server.start()
    return server.port, server.stop


class Runner:
    """Starts the Slack transport, the delivery worker and the schedules, and stops them on SIGTERM/SIGINT in
    order: the transport, the schedules, then the bot (its lanes, shared work, delivery and storage, each
    bounded; see Bot.close). `deliver=False` leaves delivery to the caller (tests)."""

    def __init__(
        self,
        app: App,
        bot: Bot,
        app_token: str | None = None,
        http_port: int | None = None,
        http_host: str = HttpSettings.host,
        schedule_checks: bool = True,
        deliver: bool = True,
    ):
        self.app = app
        self.bot = bot
        self.deliver = deliver
        self.schedule_checks = schedule_checks
        self.app_token = app_token
        self.http_port = http_port
        self.http_host = http_host
        self.signalled = threading.Event()
        self._stopped = False
        self._stops: list[Callable[[], None]] = []
        self._http: HttpServer | None = None

    def start(self) -> None:
        if self.http_port is not None:  # a busy port or a wrong host stops the bot before anything starts
            self._http = HttpServer(self.app, self.http_host, self.http_port, self.bot.config.http)
        self.bot.approvals.recover()  # a request left executing by a crash becomes unknown, never re-run
        if self.deliver:
            self.bot.delivery.start()  # stopped by Bot.close, after the lanes
        if self.schedule_checks:
            scheduler = start_scheduler(self.bot)
            self._stops.append(lambda: scheduler.shutdown(wait=True))  # its jobs use storage: let them end
            self._stops.append(start_check_schedule(self.bot).stop)
        # Checks run and alerts queue while Slack is unreachable; a refused token raises TokenRefused.
        if wait_for_slack(self.app.client, self.signalled) is None:
            return  # stopped while waiting
        self.bot.delivery.retry_parked("Slack answered at start")
        if self.http_port is not None:
            self._start_http()
        else:
            self._start_socket_mode()

    def _start_http(self) -> None:
        assert self._http is not None
        self._http.start()
        self.http_port = self._http.port
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        log.info("listening for Slack on http://%s:%s%s", host, self.http_port, EVENTS_PATH)

    def _start_socket_mode(self) -> None:
        handler = SocketModeHandler(self.app, app_token=self.app_token, concurrency=10)
        handler.connect()
        self._stops.append(handler.close)
        log.info("connected to Slack over Socket Mode")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        stops = [*([self._http.stop] if self._http else []), *reversed(self._stops)]  # the transport first
        for stop in stops:
            try:
                stop()
            except Exception:
                log.warning("error while stopping", exc_info=True)
        self.bot.close()
        log.info("stopped")

    def run_until_signalled(self) -> None:
        def on_signal(signum: int, _frame: Any) -> None:
            log.info("received %s, shutting down", signal.Signals(signum).name)
            self.signalled.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            self.start()
            while not self.signalled.wait(1):
                pass
        finally:
            self.stop()
