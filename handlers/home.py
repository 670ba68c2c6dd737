"""App Home: the state of every system when the Home tab opens; republished on the bot's own worker
(bot/slack/home_publisher.py) when the state changes."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.blocks import text_blocks
from handlers.gate import Attempt, Gate
from handlers.ports import HandlerServices, WorkPort

log = logging.getLogger(__name__)


def register(app: App, services: HandlerServices, gate: Gate, work: WorkPort) -> None:
    """Publishes the dashboard, on the work pool, when a user opens the Home tab (a refusal is audited); from
    then on the Home publisher republishes it to them while they may see it."""

    def publish(user: str, client: WebClient) -> None:
        refusal = gate.refusal(user, "viewer", "see the state of the IBM i systems", Attempt("open the Home tab"))
        view: dict[str, Any] = (
            {"type": "home", "blocks": text_blocks(refusal)} if refusal is not None else services.home.view(user)
        )
        try:
            client.views_publish(user_id=user, view=view)
        except Exception:
            log.warning("publishing the Home tab for %s failed", user, exc_info=True)

    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home":
            return
        services.home_publisher.opened(event["user"])
        work.submit(publish, event["user"], client)

    app.event("app_home_opened")(home_opened)
