"""The `/ibmi` listener, the same for every declared sub-command: authorise, parse, ack within Slack's
3 seconds, and hand the declaration's slow answer on: to the system's own lane when it acts on a system (so a
slow or hung IBM i delays only its own answers), else to the shared pool. A full lane is said at once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.command_parsing import ParsedCommand, UsageError
from bot.ibmi.errors import IbmiError
from bot.lanes import LanesStopped, SystemBusy
from bot.slack import blocks
from bot.slack.client import in_ack_client
from handlers.actor import SLACK_CALL_ERRORS, form_not_opened
from handlers.commands import SUB_COMMANDS, parse_command_text
from handlers.gate import Attempt, Gate
from handlers.ibmi_errors import ibmi_failure_text
from handlers.ports import HandlerServices, WorkPort
from handlers.storage_errors import STORAGE_ERRORS, storage_failure_text
from handlers.sub_command import Invocation, Reply, SubCommand

log = logging.getLogger(__name__)


class IbmiCommand:
    def __init__(
        self,
        services: HandlerServices,
        gate: Gate,
        slash: str,
        work: WorkPort,
        sub_commands: Sequence[SubCommand[Any]] = SUB_COMMANDS,
    ):
        self.services = services
        self.gate = gate
        self.slash = slash
        self.work = work
        self.sub_commands = tuple(sub_commands)
        self._by_name = {sub.name: sub for sub in self.sub_commands}

    def handle(self, ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """Answers on the request's own thread what needs no IBM i or RDAP; hands the rest on (only the
        invocation travels, so the ack never waits behind slow work or copies of the request)."""
        invocation = self.ack(ack, command, client)
        if invocation is None:
            return
        if not self._by_name[invocation.parsed.name].needs_system:
            self.work.submit(self.answer, invocation, respond)
            return
        try:
            self.work.submit_for(invocation.system, invocation.parsed.name, lambda: self.answer(invocation, respond))
        except (SystemBusy, LanesStopped) as refused:
            respond(response_type="ephemeral", text=f":hourglass: {refused}")

    def ack(self, ack: Ack, command: dict[str, Any], client: WebClient) -> Invocation[Any] | None:
        """Acks the command; returns it when its answer remains to be given."""
        text = blocks.unescape_slack(command.get("text") or "")  # as typed: Slack escapes &, < and >
        command = {**command, "text": text}
        user = command.get("user_id", "")
        first = text.split()[0].lower() if text.split() else ""
        verb = f"{self.slash} {first}" if first in self._by_name else self.slash
        refusal = self.gate.refusal(user, "viewer", f"use {self.slash} ([roles] viewers)", Attempt(verb, text))
        if refusal is not None:
            _ephemeral(ack, refusal)
            return None
        try:
            sub, parsed = self._parse(command)
        except UsageError as error:
            ack(
                response_type="ephemeral",
                text=f"{error.problem} Usage: {error.usage or self.slash + ' help'}",
                blocks=blocks.error_blocks(error.problem, error.usage),
            )
            return None
        role = sub.role_for(parsed.request)
        if role != "viewer":
            attempt = Attempt(f"{self.slash} {sub.name}", text, parsed.system)
            refusal = self.gate.refusal(user, role, "do that ([roles] operators)", attempt)
            if refusal is not None:
                _ephemeral(ack, refusal)
                return None
        channel = command.get("channel_id") or ""
        invocation = Invocation(parsed, parsed.request, user, self.slash, self.services, self.sub_commands, channel)
        busy = self.work.busy(parsed.system) if sub.needs_system and sub.answer and parsed.system else None
        if busy is not None:
            _ephemeral(ack, f":hourglass: {busy}")
            return None
        try:
            reply = sub.ack(invocation)
        except STORAGE_ERRORS as error:
            _ephemeral(ack, storage_failure_text(error, f"{self.slash} {sub.name}"))
            return None
        if reply.modal is not None:
            reply = _opened(client, command.get("trigger_id", ""), reply.modal)
        if not reply.text:
            ack()
            return None
        ack(response_type="ephemeral", text=reply.text, blocks=reply.blocks)
        return invocation if reply.answer_follows and sub.answer is not None else None

    def _parse(self, command: dict[str, Any]) -> tuple[SubCommand[Any], ParsedCommand]:
        names = self.services.systems.names()
        parsed = parse_command_text(command.get("text") or "", names, self.slash, self.sub_commands)
        sub = self._by_name[parsed.name]
        if sub.needs_system and parsed.system is None:
            if len(names) != 1:
                raise UsageError(
                    f"Several systems are configured; name one of {', '.join(names)} with @SYSTEM.",
                    f"{self.slash} {sub.usage}",
                )
            parsed = replace(parsed, system=names[0])
        return sub, parsed

    def answer(self, invocation: Invocation[Any], respond: Respond) -> None:
        """In the system's lane or on the shared pool: the slow part, answered through response_url."""
        name = invocation.parsed.name
        answer = self._by_name[name].answer
        try:
            if answer is not None:
                reply = answer(invocation)
                respond(response_type="ephemeral", text=reply.text, blocks=reply.blocks)
        except STORAGE_ERRORS as error:
            respond(response_type="ephemeral", text=storage_failure_text(error, f"{self.slash} {name}"))
        except IbmiError as error:
            respond(response_type="ephemeral", text=ibmi_failure_text(error, invocation.system, f"{self.slash} {name}"))
        except Exception:
            log.exception("%s %s failed", self.slash, name)
            respond(response_type="ephemeral", text=f":x: `{self.slash} {name}` failed; the bot's log has the details.")


def _ephemeral(ack: Ack, text: str) -> None:
    ack(response_type="ephemeral", text=text, blocks=blocks.text_blocks(text))


def _opened(client: WebClient, trigger_id: str, view: dict[str, Any]) -> Reply:
    """An empty reply once the form is open; what Slack answered when it could not be opened (tried once: the
    trigger_id expires with the ack)."""
    try:
        in_ack_client(client).views_open(trigger_id=trigger_id, view=view)
    except SLACK_CALL_ERRORS as error:
        text = form_not_opened(error)
        return Reply(text, blocks.text_blocks(text))
    return Reply("", [])


def register(app: App, services: HandlerServices, gate: Gate, slash: str, work: WorkPort) -> None:
    app.command(slash)(IbmiCommand(services, gate, slash, work).handle)
