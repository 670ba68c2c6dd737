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
        if services.may_view(event["user"]):
            view_blocks = blocks.status_blocks(services.system_statuses())
        else:
            view_blocks = blocks.text_blocks("Only viewers may see the state of the IBM i systems ([roles] viewers).")
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": view_blocks})

    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") == "home":
            work.submit(publish_home, event, client)

    app.event("app_home_opened")(home_opened)
