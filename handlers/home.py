"""App Home: the state of every system when the Home tab opens."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services, work: Executor) -> None:
    """Publishes the dashboard when a user opens the Home tab, and again for everyone who has opened it
    whenever alerts or change requests change."""
    viewers: set[str] = set()
    lock = threading.Lock()
    client_holder: list[WebClient] = []

    def publish(user: str, client: WebClient) -> None:
        try:
            client.views_publish(user_id=user, view=services.home(user))
        except Exception:
            log.warning("publishing the Home tab for %s failed", user, exc_info=True)

    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home":
            return
        with lock:
            viewers.add(event["user"])
            client_holder[:] = [client]
        work.submit(publish, event["user"], client)

    def refresh_all() -> None:
        with lock:
            users, client = sorted(viewers), (client_holder[0] if client_holder else None)
        if client is not None:
            for user in users:
                work.submit(publish, user, client)

    app.event("app_home_opened")(home_opened)
    if hasattr(services, "on_change"):
        services.on_change = refresh_all
