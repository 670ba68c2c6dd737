"""The bot joined a channel: the messages parked because it could not post there are tried again at once."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from handlers.ports import HandlerServices


def register(app: App, services: HandlerServices) -> None:
    def member_joined(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("user") == context.bot_user_id:
            services.delivery.retry_parked(f"the bot joined {event.get('channel')}")

    app.event("member_joined_channel")(member_joined)
