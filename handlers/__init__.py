"""Slack listeners only: parse, authorise, ack, and hand the slow part to the bot."""

from __future__ import annotations

from concurrent.futures import Executor

from slack_bolt import App

from bot.config import Config
from bot.services import Services
from handlers import actions, commands, home, views


def register(app: App, services: Services, config: Config, work: Executor) -> None:
    """`work` is the pool that runs what cannot be answered within Slack's 3 seconds."""
    commands.register(app, services, config, work)
    home.register(app, services, work)
    actions.register(app, services, work)
    views.register(app, services, work)
