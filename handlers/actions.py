"""Buttons: on alerts, and Approve / Reject on change requests. A button carries only an id (an alert's
fingerprint or a request id); what it means is read from storage, and who clicked is checked against the
roles on every click."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.alerting.render import ACTION_END, ACTION_SILENCE, ACTION_TRACE, ACTION_TRUST
from bot.changes import render
from bot.lanes import LanesStopped, SystemBusy
from handlers.gate import Attempt, Gate
from handlers.ports import HandlerServices, WorkPort
from handlers.storage_errors import STORAGE_ERRORS, storage_failure_text
from handlers.views import alert_request_modal

log = logging.getLogger(__name__)

SILENCE_SECONDS = 24 * 3600


def _clicked(body: dict[str, Any]) -> tuple[str, str, str]:
    action = (body.get("actions") or [{}])[0]
    return body.get("user", {}).get("id", ""), str(action.get("value", "")), str(action.get("block_id", ""))


def _system_of_block(block_id: str) -> str | None:
    """The system named by a request's button block (request:SYSTEM:ID)."""
    parts = block_id.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == "request" else "?"


def _say(respond: Respond, text: str) -> None:
    respond(response_type="ephemeral", replace_original=False, text=text)


def register(app: App, services: HandlerServices, gate: Gate, work: WorkPort) -> None:
    def later(job: Callable[[dict[str, Any], Respond], None]) -> Callable[..., None]:
        """Ack at once on the request's thread; the job runs on the work pool with just the body and respond."""

        def listener(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            ack()
            work.submit(_logged, job, body, respond)

        return listener

    def in_system_lane(job: Callable[[dict[str, Any], Respond], None]) -> Callable[..., None]:
        """Ack at once; the job runs in the lane of the system its button names (an approved command runs on
        IBM i), or is answered "busy" when that lane is full. A button naming no configured system is
        refused by the job itself, on the shared pool."""

        def listener(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            ack()
            system = _system_of_block(_clicked(body)[2]) or "?"
            if system not in services.systems.names():
                work.submit(_logged, job, body, respond)
                return
            try:
                work.submit_for(system, "a button", lambda: _logged(job, body, respond))
            except (SystemBusy, LanesStopped) as refused:
                _say(respond, f":hourglass: {refused}")

        return listener

    def silence(body: dict[str, Any], respond: Respond) -> None:
        user, fingerprint, _ = _clicked(body)
        refusal = gate.refusal(
            user, "operator", "silence alerts ([roles] in the bot's configuration)", Attempt("silence", fingerprint)
        )
        if refusal is not None:
            _say(respond, refusal)
            return
        _say(
            respond,
            services.alerts.silence_alert(fingerprint, user, SILENCE_SECONDS, "silenced for 24h from the alert"),
        )

    def trace(body: dict[str, Any], respond: Respond) -> None:
        user, fingerprint, _ = _clicked(body)
        refusal = gate.refusal(user, "viewer", "trace addresses", Attempt("trace", fingerprint))
        if refusal is not None:
            _say(respond, refusal)
            return
        _say(respond, services.alerts.trace_alert(fingerprint))

    def ask_reason(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """Trust… and End connection… on an alert: a change, so it needs a reason and then an approval."""
        user, fingerprint, _ = _clicked(body)
        action_id = (body.get("actions") or [{}])[0].get("action_id")
        ack()
        action = "trust" if action_id == ACTION_TRUST else "end-connection"
        attempt = Attempt(f"{action} from an alert", fingerprint)
        refusal = gate.refusal(user, "operator", "request changes ([roles] operators)", attempt)
        if refusal is not None:
            _say(respond, refusal)
            return
        about = services.alerts.address_of(fingerprint)
        if about is None:
            _say(respond, "That alert is not about an address the bot can act on, or is no longer known.")
            return
        _open(
            client, respond, body["trigger_id"], alert_request_modal(action, fingerprint, about.address, about.system)
        )

    def approve(body: dict[str, Any], respond: Respond) -> None:
        """Who may approve this request is the approval service's check."""
        user, request_id, block_id = _clicked(body)
        _say(respond, services.approvals.approve(request_id, user, _system_of_block(block_id)))

    def ask_rejection_reason(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        user, request_id, block_id = _clicked(body)
        ack()
        refusal = services.approvals.refusal(request_id, user, _system_of_block(block_id), "reject")
        if refusal:
            _say(respond, refusal)
            return
        _open(client, respond, body["trigger_id"], render.reject_modal(request_id))

    app.action(ACTION_SILENCE)(later(silence))
    app.action(ACTION_TRACE)(later(trace))
    app.action(ACTION_TRUST)(ask_reason)
    app.action(ACTION_END)(ask_reason)
    app.action(render.ACTION_APPROVE)(in_system_lane(approve))
    app.action(render.ACTION_REJECT)(ask_rejection_reason)


def _open(client: WebClient, respond: Respond, trigger_id: str, view: dict[str, Any]) -> None:
    """Open a modal; if Slack refuses (an expired trigger, say), tell the user instead of failing the request."""
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        _say(
            respond, f"The form could not be opened (Slack answered {error.response.get('error')}); please click again."
        )


def _logged(job: Callable[[dict[str, Any], Respond], None], body: dict[str, Any], respond: Respond) -> None:
    try:
        job(body, respond)
    except STORAGE_ERRORS as error:
        _say(respond, storage_failure_text(error, "a button"))
    except Exception:
        log.exception("a button's work failed")
        _say(respond, ":x: That did not work; the bot's log has the details.")
