"""Buttons: on alerts, and Approve / Reject on change requests. A button carries only an id (an alert's
fingerprint or a request id); what it means is read from storage, and who clicked is checked against the
roles on every click."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.alerting.render import ACTION_END, ACTION_SILENCE, ACTION_TRACE, ACTION_TRUST
from bot.changes import render
from bot.lanes import LanesStopped, SystemBusy
from bot.slack.client import in_ack_client
from handlers.actor import SLACK_CALL_ERRORS, Actor, channel_of, clicked_in_home, form_not_opened
from handlers.gate import Attempt, Gate
from handlers.ports import HandlerServices, WorkPort
from handlers.storage_errors import STORAGE_ERRORS, storage_failure_text
from handlers.views import alert_request_modal, reject_form

log = logging.getLogger(__name__)

SILENCE_SECONDS = 24 * 3600

Job = Callable[[dict[str, Any]], str]  # a button's work: the click's body in, what to tell the person out


def _clicked(body: dict[str, Any]) -> tuple[str, str, str]:
    action = (body.get("actions") or [{}])[0]
    return body.get("user", {}).get("id", ""), str(action.get("value", "")), str(action.get("block_id", ""))


def _system_of_block(block_id: str) -> str | None:
    """The system named by a request's button block (request:SYSTEM:ID)."""
    parts = block_id.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == "request" else "?"


def register(app: App, services: HandlerServices, gate: Gate, work: WorkPort) -> None:
    def actor_of(body: dict[str, Any], client: WebClient, respond: Respond) -> Actor:
        return Actor(client, _clicked(body)[0], respond, channel_of(body))

    def answered(button: str, job: Job, body: dict[str, Any], actor: Actor, system: str) -> None:
        """Off the ack: the job's answer told to whoever clicked; a click in the App Home also redraws their Home
        (the buttons then match what is now true)."""
        actor.answer(button, system, partial(job, body))
        if clicked_in_home(body):
            republish_home(actor)

    def republish_home(actor: Actor) -> None:
        if not gate.allows(actor.user, "viewer"):
            return
        try:
            actor.client.views_publish(user_id=actor.user, view=services.home.view(actor.user))
        except SLACK_CALL_ERRORS as error:
            log.warning("publishing the Home tab for %s failed: %s", actor.user, error)
        except Exception:
            log.exception("publishing the Home tab for %s failed", actor.user)

    def later(button: str, job: Job) -> Callable[..., None]:
        """Ack at once on the request's thread; the job runs on the work pool with just the body."""

        def listener(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
            ack()
            work.submit(answered, button, job, body, actor_of(body, client, respond), "")

        return listener

    def in_system_lane(button: str, job: Job) -> Callable[..., None]:
        """Ack at once; the job runs in the lane of the system its button names (an approved command runs on
        IBM i), or is answered "busy" when that lane is full. A button naming no configured system is
        refused by the job itself, on the shared pool."""

        def listener(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
            ack()
            actor = actor_of(body, client, respond)
            system = _system_of_block(_clicked(body)[2]) or "?"
            if system not in services.systems.names():
                work.submit(answered, button, job, body, actor, "")
                return
            try:
                work.submit_for(system, "a button", partial(answered, button, job, body, actor, system))
            except (SystemBusy, LanesStopped) as refused:
                work.submit(actor.tell, f":hourglass: {refused}")

        return listener

    def told_later(actor: Actor, text: str) -> None:
        """Said from inside an ack: sent from the work pool, so the ack never waits for it."""
        work.submit(actor.tell, text)

    def silence(body: dict[str, Any]) -> str:
        user, fingerprint, _ = _clicked(body)
        refusal = gate.refusal(
            user, "operator", "silence alerts ([roles] in the bot's configuration)", Attempt("silence", fingerprint)
        )
        if refusal is not None:
            return refusal
        return services.alerts.silence_alert(fingerprint, user, SILENCE_SECONDS, "silenced for 24h from the alert")

    def trace(body: dict[str, Any]) -> str:
        user, fingerprint, _ = _clicked(body)
        refusal = gate.refusal(user, "viewer", "trace addresses", Attempt("trace", fingerprint))
        if refusal is not None:
            return refusal
        return services.alerts.trace_alert(fingerprint)

    def ask_reason(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """Trust… and End connection… on an alert: a change, so it needs a reason and then an approval."""
        user, fingerprint, _ = _clicked(body)
        action_id = (body.get("actions") or [{}])[0].get("action_id")
        ack()
        action = "trust" if action_id == ACTION_TRUST else "end-connection"
        attempt = Attempt(f"{action} from an alert", fingerprint)
        actor = actor_of(body, client, respond)
        refusal = gate.refusal(user, "operator", "request changes ([roles] operators)", attempt)
        if refusal is not None:
            told_later(actor, refusal)
            return
        about = services.alerts.address_of(fingerprint)
        if about is None:
            told_later(actor, "That alert is not about an address the bot can act on, or is no longer known.")
            return
        _open(
            actor,
            told_later,
            body["trigger_id"],
            alert_request_modal(action, fingerprint, about.address, about.system, actor.channel),
        )

    def approve(body: dict[str, Any]) -> str:
        """Who may approve this request is the approval service's check."""
        user, request_id, block_id = _clicked(body)
        return services.approvals.approve(request_id, user, _system_of_block(block_id))

    def ask_rejection_reason(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        user, request_id, block_id = _clicked(body)
        ack()
        actor = actor_of(body, client, respond)
        try:
            refusal = services.approvals.refusal(request_id, user, _system_of_block(block_id), "reject")
        except STORAGE_ERRORS as error:
            refusal = storage_failure_text(error, "reject")
        if refusal:
            told_later(actor, refusal)
            if clicked_in_home(body):
                work.submit(republish_home, actor)
            return
        _open(actor, told_later, body["trigger_id"], reject_form(request_id, actor.channel))

    app.action(ACTION_SILENCE)(later("Silence 24h", silence))
    app.action(ACTION_TRACE)(later("Trace owner", trace))
    app.action(ACTION_TRUST)(ask_reason)
    app.action(ACTION_END)(ask_reason)
    app.action(render.ACTION_APPROVE)(in_system_lane("Approve", approve))
    app.action(render.ACTION_REJECT)(ask_rejection_reason)


def _open(actor: Actor, tell: Callable[[Actor, str], None], trigger_id: str, view: dict[str, Any]) -> None:
    """Open a modal, inside the ack (tried once: the trigger_id expires with it); if Slack refuses or does not
    answer, the person is told instead."""
    try:
        in_ack_client(actor.client).views_open(trigger_id=trigger_id, view=view)
    except SLACK_CALL_ERRORS as error:
        tell(actor, form_not_opened(error))
