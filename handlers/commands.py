"""`/ibmi` and its sub-commands. The ack answers what needs no IBM i; a lazy listener does the rest."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import blocks
from bot.command_text import SUB_COMMANDS, ParsedCommand, UsageError, parse_command_text, usage_of
from bot.config import Config
from bot.services import Services

log = logging.getLogger(__name__)
_AVAILABLE = {sub.name: sub.available for sub in SUB_COMMANDS}


class IbmiCommand:
    def __init__(self, services: Services, config: Config):
        self.services = services
        self.slash = config.slack.command

    def _parse(self, command: dict[str, Any]) -> ParsedCommand:
        parsed = parse_command_text(command.get("text") or "", self.services.system_names(), self.slash)
        if parsed.name == "netstat" and parsed.system is None:
            names = self.services.system_names()
            if len(names) != 1:
                raise UsageError(f"Several systems are configured; name one of {', '.join(names)}.",
                                 usage_of("netstat", self.slash))
            parsed = ParsedCommand(parsed.name, names[0], parsed.port, parsed.arguments)
        return parsed

    def _may_view(self, user_id: str) -> bool:
        return self.services.may_view(user_id)

    def ack(self, ack: Ack, command: dict[str, Any]) -> None:
        if not self._may_view(command.get("user_id", "")):
            ack(response_type="ephemeral", text=f"Only viewers may use {self.slash}; ask an admin to add your "
                "Slack user id to [roles] viewers (this version does not resolve @usergroup handles).")
            return
        try:
            parsed = self._parse(command)
        except UsageError as error:
            ack(response_type="ephemeral", text=f"{error.problem} Usage: {error.usage or self.slash + ' help'}",
                blocks=blocks.error_blocks(error.problem, error.usage))
            return
        if parsed.name == "help":
            ack(response_type="ephemeral", text=blocks.help_text(self.slash), blocks=blocks.help_blocks(self.slash))
        elif parsed.name == "status":
            statuses = self.services.system_statuses()
            ack(response_type="ephemeral", text=blocks.status_text(statuses), blocks=blocks.status_blocks(statuses))
        elif not _AVAILABLE[parsed.name]:
            ack(response_type="ephemeral",
                text=f"`{self.slash} {parsed.name}` is not available in this version yet. See `{self.slash} help`.")
        else:
            ack(response_type="ephemeral", text=f"Reading connections on {parsed.system}…")

    def answer(self, command: dict[str, Any], respond: Respond) -> None:
        """Lazy listener: the slow part, answered through response_url."""
        if not self._may_view(command.get("user_id", "")):
            return
        try:
            parsed = self._parse(command)
        except UsageError:
            return  # the ack said what was wrong
        if parsed.name != "netstat" or parsed.system is None:
            return
        try:
            report = self.services.netstat(parsed.system, parsed.port)
            respond(response_type="ephemeral", replace_original=False,
                    text=f"Connections on {report.system}", blocks=blocks.netstat_blocks(report))
        except Exception:
            log.exception("netstat on %s failed", parsed.system)
            respond(response_type="ephemeral", text=f":x: Reading connections on {parsed.system} failed; "
                    "the bot's log has the details.")


def register(app: App, services: Services, config: Config) -> None:
    command = IbmiCommand(services, config)
    app.command(config.slack.command)(ack=command.ack, lazy=[command.answer])
