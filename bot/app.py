"""Builds the Bolt App from the configuration and the services, and registers the handlers."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

import handlers
from bot.config import Config, Secrets
from bot.services import Services
from bot.slack_client import make_web_client

LAZY_WORKERS = 8


class _IgnoreTokenFromEnvironment(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused whenever a client is passed; here that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(config: Config, secrets: Secrets, services: Services, http: bool) -> App:
    """process_before_response=True makes the ack run on the request's own thread, while lazy
    listeners run on their own pool, so a slow IBM i never delays an ack."""
    bolt_log = logging.getLogger("slack_bolt")
    bolt_log.addFilter(_IgnoreTokenFromEnvironment())
    app = App(
        client=make_web_client(secrets.slack_bot_token, secrets.slack_api_url),
        signing_secret=secrets.slack_signing_secret if http else None,
        request_verification_enabled=http,
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=LAZY_WORKERS, thread_name_prefix="warden-lazy"),
        logger=bolt_log,
    )
    handlers.register(app, services, config)
    return app
