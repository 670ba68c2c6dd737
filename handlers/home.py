"""App Home: the state of every system when the Home tab opens."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.blocks import text_blocks
from handlers.gate import Attempt, Gate
from handlers.ports import HandlerServices, WorkPort

log = logging.getLogger(__name__)


def register(app: App, services: HandlerServices, gate: Gate, work: WorkPort) -> None:
    """Publishes the dashboard when a user opens the Home tab, and again for everyone who has opened it
    whenever alerts or change requests change."""
    viewers: set[str] = set()
    lock = threading.Lock()
    client_holder: list[WebClient] = []

    def view_for(user: str, opened: bool) -> dict[str, Any]:
        """`opened`: the user opened the tab (a refusal is audited), not a refresh by the bot."""
        attempt = Attempt("open the Home tab") if opened else None
        refusal = gate.refusal(user, "viewer", "see the state of the IBM i systems", attempt)
        if refusal is not None:
            return {"type": "home", "blocks": text_blocks(refusal)}
        return services.home.view(user)

    def publish(user: str, client: WebClient, opened: bool = False) -> None:
        try:
            client.views_publish(user_id=user, view=view_for(user, opened))
        except Exception:
            log.warning("publishing the Home tab for %s failed", user, exc_info=True)

    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home":
            return
        with lock:
            viewers.add(event["user"])
            client_holder[:] = [client]
        work.submit(publish, event["user"], client, True)

    def refresh_all() -> None:
        with lock:
            users, client = sorted(viewers), (client_holder[0] if client_holder else None)
        if client is not None:
            for user in users:
                work.submit(publish, user, client)

    app.event("app_home_opened")(home_opened)
    services.changes.subscribe(refresh_all)
