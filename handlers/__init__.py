"""Slack listeners only: parse, authorise, ack, and hand the slow part to the bot."""

from __future__ import annotations

from slack_bolt import App

from bot.config import Config
from bot.services import Services
from handlers import actions, commands, home, views


def register(app: App, services: Services, config: Config) -> None:
    commands.register(app, services, config)
    home.register(app, services)
    actions.register(app, services)
    views.register(app, services)
