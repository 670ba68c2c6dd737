"""App Home: the state of every system when the Home tab opens."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import blocks
from bot.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home":
            return
        status = blocks.status_blocks(services.system_statuses())
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": status})

    app.event("app_home_opened")(ack=lambda ack: ack(), lazy=[publish_home])
