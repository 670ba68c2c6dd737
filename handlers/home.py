"""App Home: the state of every system when the Home tab opens."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import blocks
from bot.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services, work: Executor) -> None:
    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        status = blocks.status_blocks(services.system_statuses())
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": status})

    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") == "home":
            work.submit(publish_home, event, client)

    app.event("app_home_opened")(home_opened)
