"""Modals: adding an SMTP list entry, rejecting a change request, and the reason for a request from an alert.

What can be judged at once (a bad value, a refusal, a request already decided) is said in the form, which stays
open; the rest runs after the form closes and its outcome is told to the submitter, ephemerally in the channel
the form was opened from (carried in the form's private_metadata) or by a direct message."""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.changes import render
from bot.command_parsing import ClRequest, reason_problem
from bot.ibmi.cl import AddSmtpListEntry, CLValidationError
from bot.lanes import LanesStopped, SystemBusy
from handlers.actor import Actor
from handlers.gate import Attempt, Gate
from handlers.ports import HandlerServices, WorkPort
from handlers.storage_errors import STORAGE_ERRORS, not_writable_text, storage_failure_text

log = logging.getLogger(__name__)

SMTP_ADD = "smtp_add_entry"
ALERT_REQUEST = "alert_request_reason"


def _input(block_id: str, label: str, placeholder: str = "", optional: bool = False) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "max_length": 500}
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder}
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def smtp_add_modal(system: str, channel: str = "") -> dict[str, Any]:
    """The form of `/ibmi smtp add`; `channel`: where it was typed, where its outcome is said."""
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": value}
        for label, value in (("*ACCEPT (may relay)", "*ACCEPT"), ("*REJECT (refused)", "*REJECT"))
    ]
    return {
        "type": "modal",
        "callback_id": SMTP_ADD,
        "private_metadata": json.dumps({"system": system, "channel": channel}),
        "title": {"type": "plain_text", "text": "Add SMTP list entry"},
        "submit": {"type": "plain_text", "text": "Request"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "type",
                "label": {"type": "plain_text", "text": "List"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": options,
                    "initial_option": options[0],
                },
            },
            _input("address", "IPv4 address", "10.1.1.0"),
            _input("mask", "Subnet mask", "255.255.255.255", optional=True),
            _input("reason", "Reason", "why this entry is needed"),
        ],
    }


def reason_modal(callback_id: str, title: str, metadata: str, label: str, note: str = "") -> dict[str, Any]:
    """A form asking for a reason; `note` says what the request will do once approved."""
    said = [{"type": "section", "text": {"type": "mrkdwn", "text": note[:3000]}}] if note else []
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [*said, _input("reason", label)],
    }


def reject_form(request_id: str, channel: str) -> dict[str, Any]:
    """The rejection form, remembering the channel it was opened from ("" from the App Home)."""
    metadata = json.dumps({"request": request_id, "channel": channel})
    return {**render.reject_modal(request_id), "private_metadata": metadata}


def _metadata(view: dict[str, Any], plain: str) -> dict[str, Any]:
    """The form's private_metadata; a form opened by an earlier version holds only the value named `plain`."""
    raw = view.get("private_metadata") or ""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    return data if isinstance(data, dict) else {plain: raw}


def alert_request_modal(action: str, fingerprint: str, address: str, system: str, channel: str = "") -> dict[str, Any]:
    """Trust… / End connection… on an alert: what the request is about (the address, the system) and what it
    will do once approved, and its reason; `channel` is where its outcome is told ("" from the App Home)."""
    if action == "trust":
        title = "Trust address"
        note = (
            f"Trust `{address}` on {system}. Trusting changes nothing on IBM i: once approved, the bot stops "
            "alerting about connections from this address, and plaintext sessions from it count as trusted."
        )
    else:
        title = "End connection"
        note = (
            f"End the connections from `{address}` on {system}. Once approved, `ENDTCPCNN` runs on {system} for "
            "each of this address's connections; the approval message lists every connection with its job and user."
        )
    metadata = json.dumps({"fingerprint": fingerprint, "action": action, "channel": channel})
    return reason_modal(ALERT_REQUEST, title, metadata, "Why? (the request goes to the approvers)", note)


def _value(view: dict[str, Any], block: str) -> str:
    state = view["state"]["values"].get(block, {}).get("value", {})
    return (state.get("value") or state.get("selected_option", {}).get("value") or "").strip()


def register(app: App, services: HandlerServices, gate: Gate, work: WorkPort) -> None:
    def refused_while_not_writable(ack: Ack) -> bool:
        """Every form asks for a change: while the database cannot be written, the form says so and stays open."""
        problem = services.storage.current_problem()
        if problem is not None:
            ack(response_action="errors", errors={"reason": not_writable_text(problem)})
        return problem is not None

    def smtp_add(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        if refused_while_not_writable(ack):
            return
        user = body["user"]["id"]
        metadata = _metadata(view, "system")
        system = str(metadata.get("system", ""))
        attempt = Attempt("smtp add (form)", f"{_value(view, 'type')} {_value(view, 'address')}", system or None)
        refusal = gate.refusal(user, "operator", "request changes", attempt)
        if refusal is not None:
            ack(response_action="errors", errors={"reason": refusal})
            return
        if system not in services.systems.names():
            ack(response_action="errors", errors={"address": "This form no longer matches a configured system."})
            return
        mask = _value(view, "mask") or None
        problem = reason_problem(_value(view, "reason"))
        if problem:
            ack(response_action="errors", errors={"reason": problem})
            return
        try:
            entry = AddSmtpListEntry.build(list_type=_value(view, "type"), address=_value(view, "address"), mask=mask)
            request = ClRequest(entry, _value(view, "reason"))
        except CLValidationError as error:
            block = {"INTNETADR": "address", "SUBNETMASK": "mask"}.get(error.parameter, "address")
            ack(response_action="errors", errors={block: str(error)})
            return
        except ValueError as error:
            ack(response_action="errors", errors={"reason": str(error)})
            return
        actor = Actor(client, user, channel=str(metadata.get("channel") or ""))

        def requested() -> str:
            return services.requests.request_cl(system, request, user).text

        try:
            work.submit_for(system, "smtp add", partial(actor.answer, "smtp add", system, requested))
        except (SystemBusy, LanesStopped) as refused:
            ack(response_action="errors", errors={"reason": str(refused)})
            return
        ack()

    def reject(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        """Who may reject this request is the approval service's check: asked before the form closes (decided
        by another approver meanwhile, say), and again when the rejection is recorded."""
        if refused_while_not_writable(ack):
            return
        metadata = _metadata(view, "request")
        request_id, user, reason = str(metadata.get("request", "")), body["user"]["id"], _value(view, "reason")
        try:
            refusal = services.approvals.refusal(request_id, user, None, "reject")
        except STORAGE_ERRORS as error:
            refusal = storage_failure_text(error, "reject")
        if refusal:
            ack(response_action="errors", errors={"reason": refusal})
            return
        ack()
        actor = Actor(client, user, channel=str(metadata.get("channel") or ""))
        work.submit(actor.answer, "reject", "", partial(services.approvals.reject, request_id, user, reason))

    def alert_request(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        if refused_while_not_writable(ack):
            return
        user = body["user"]["id"]
        metadata = json.loads(view.get("private_metadata") or "{}")
        attempt = Attempt(f"{metadata.get('action', '?')} from an alert (form)", str(metadata.get("fingerprint", "")))
        refusal = gate.refusal(user, "operator", "request changes", attempt)
        if refusal is not None:
            ack(response_action="errors", errors={"reason": refusal})
            return
        reason = " ".join(_value(view, "reason").split())
        problem = "A reason is required." if not reason else reason_problem(reason)
        if problem:
            ack(response_action="errors", errors={"reason": problem})
            return
        ack()
        fingerprint, action = metadata.get("fingerprint", ""), metadata.get("action", "")
        actor = Actor(client, user, channel=str(metadata.get("channel") or ""))
        requested = partial(services.alerts.request_from_alert, fingerprint, action, user, reason)
        work.submit(actor.answer, f"{action} from an alert", "", requested)

    app.view(SMTP_ADD)(smtp_add)
    app.view(render.REJECT_MODAL)(reject)
    app.view(ALERT_REQUEST)(alert_request)
