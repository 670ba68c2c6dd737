"""`/ibmi` and its sub-commands. The ack answers what needs no IBM i or RDAP; the work pool does the rest."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.command_text import (
    AuditRequest,
    ClRequest,
    EndRequest,
    ParsedCommand,
    SilenceRequest,
    SmtpAddFormRequest,
    SmtpListRequest,
    TraceRequest,
    TrustRequest,
    UnsilenceRequest,
    UntrustRequest,
    UsageError,
    parse_command_text,
    usage_of,
)
from bot.config import Config
from bot.services import Services
from handlers.views import smtp_add_modal

log = logging.getLogger(__name__)

NEEDS_SYSTEM = ("netstat", "end", "smtp", "relay", "trust", "untrust")
CHANGES = (EndRequest, ClRequest, TrustRequest, UntrustRequest, SmtpAddFormRequest)


def _ephemeral(ack: Ack, text: str) -> None:
    ack(response_type="ephemeral", text=text, blocks=blocks.text_blocks(text))


class IbmiCommand:
    def __init__(self, services: Services, config: Config, work: Executor):
        self.services = services
        self.slash = config.slack.command
        self.work = work

    def _parse(self, command: dict[str, Any]) -> ParsedCommand:
        parsed = parse_command_text(command.get("text") or "", self.services.system_names(), self.slash)
        if parsed.name in NEEDS_SYSTEM and parsed.system is None:
            names = self.services.system_names()
            if len(names) != 1:
                raise UsageError(
                    f"Several systems are configured; name one of {', '.join(names)} with @SYSTEM.",
                    usage_of(parsed.name, self.slash),
                )
            parsed = replace(parsed, system=names[0])
        return parsed

    def handle(self, ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """Answers on the request's own thread what needs no IBM i or RDAP; hands the rest to the work pool
        (only the parsed command travels, so the ack never waits behind slow work or copies of the request)."""
        parsed = self.ack(ack, command, client)
        if parsed is not None:
            self.work.submit(self.answer, parsed, command.get("user_id", ""), respond)

    def ack(self, ack: Ack, command: dict[str, Any], client: WebClient) -> ParsedCommand | None:
        """Acks the command; returns it when slow work remains to be done."""
        user = command.get("user_id", "")
        if not self.services.may_view(user):
            _ephemeral(ack, f"Only viewers may use {self.slash} ([roles] viewers).")
            return None
        try:
            parsed = self._parse(command)
        except UsageError as error:
            ack(
                response_type="ephemeral",
                text=f"{error.problem} Usage: {error.usage or self.slash + ' help'}",
                blocks=blocks.error_blocks(error.problem, error.usage),
            )
            return None
        request = parsed.request
        remediation = getattr(self.services, "remediation", None)
        if isinstance(request, (*CHANGES, SilenceRequest, UnsilenceRequest)) and not self.services.may_operate(user):
            _ephemeral(ack, "Only operators or approvers may do that ([roles] operators).")
        elif parsed.name == "help":
            ack(response_type="ephemeral", text=blocks.help_text(self.slash), blocks=blocks.help_blocks(self.slash))
        elif parsed.name == "status":
            statuses = self.services.system_statuses()
            ack(response_type="ephemeral", text=blocks.status_text(statuses), blocks=blocks.status_blocks(statuses))
        elif remediation is None and parsed.name not in ("netstat",):
            _ephemeral(ack, f"`{self.slash} {parsed.name}` needs the bot running with Slack.")
        elif parsed.name == "approvals":
            _ephemeral(ack, remediation.pending_text())
        elif isinstance(request, AuditRequest):
            _ephemeral(ack, remediation.audit_text(request.count))
        elif isinstance(request, SilenceRequest):
            _ephemeral(ack, remediation.silence(request, user))
        elif isinstance(request, UnsilenceRequest):
            _ephemeral(ack, remediation.unsilence(request, user))
        elif isinstance(request, SmtpAddFormRequest):
            try:
                client.views_open(trigger_id=command["trigger_id"], view=smtp_add_modal(parsed.system or ""))
                ack()
            except SlackApiError as error:
                _ephemeral(ack, f"The form could not be opened (Slack answered {error.response.get('error')}).")
        else:
            _ephemeral(
                ack,
                {
                    "netstat": f"Reading connections on {parsed.system}…",
                    "trace": "Looking up the owner…",
                    "smtp": f"Reading the SMTP lists of {parsed.system}…",
                }.get(parsed.name, "Preparing the change request…"),
            )
            return parsed
        return None

    def answer(self, parsed: ParsedCommand, user: str, respond: Respond) -> None:
        """On the work pool: the slow part, answered through response_url."""
        try:
            self._answer(parsed, user, respond)
        except Exception:
            log.exception("%s %s failed", self.slash, parsed.name)
            respond(
                response_type="ephemeral",
                text=f":x: `{self.slash} {parsed.name}` failed; the bot's log has the details.",
            )

    def _answer(self, parsed: ParsedCommand, user: str, respond: Respond) -> None:
        request, system, remediation = parsed.request, parsed.system or "", self.services.remediation
        if parsed.name == "netstat":
            report = self.services.netstat(system, parsed.port)
            respond(
                response_type="ephemeral", text=f"Connections on {report.system}", blocks=blocks.netstat_blocks(report)
            )
            return
        if isinstance(request, TraceRequest):
            text = remediation.trace(str(request.address))
        elif isinstance(request, SmtpListRequest):
            text = remediation.smtp_lists(system, request.list_type)
        elif isinstance(request, EndRequest):
            text = remediation.request_end(system, request, user).text
        elif isinstance(request, ClRequest):
            text = remediation.request_cl(system, request, user).text
        elif isinstance(request, TrustRequest | UntrustRequest):
            text = remediation.request_trust(system, request, user).text
        else:
            return
        respond(response_type="ephemeral", text=text, blocks=blocks.text_blocks(text))


def register(app: App, services: Services, config: Config, work: Executor) -> None:
    app.command(config.slack.command)(IbmiCommand(services, config, work).handle)
