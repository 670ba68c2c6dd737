"""Buttons on alerts. A button carries only the alert's fingerprint; what it means is read from storage,
and who clicked is checked against the roles on every click."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.alert_blocks import ACTION_END, ACTION_SILENCE, ACTION_TRACE, ACTION_TRUST
from bot.services import Services

log = logging.getLogger(__name__)

NOT_YET = {
    ACTION_TRUST: "Trust… is not available yet: trusting an address needs an approval, which a later version adds.",
    ACTION_END: "End connection… is not available yet: ending a connection needs an approval, which a later "
    "version adds.",
}
SILENCE_SECONDS = 24 * 3600


def _clicked(body: dict[str, Any]) -> tuple[str, str]:
    action = (body.get("actions") or [{}])[0]
    return body.get("user", {}).get("id", ""), str(action.get("value", ""))


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def not_yet(body: dict[str, Any], respond: Respond) -> None:
        action_id = (body.get("actions") or [{}])[0].get("action_id", "")
        respond(response_type="ephemeral", replace_original=False, text=NOT_YET.get(action_id, "Not available yet."))

    def silence(body: dict[str, Any], respond: Respond) -> None:
        user, fingerprint = _clicked(body)
        if not services.may_operate(user):
            respond(response_type="ephemeral", replace_original=False,
                    text="Only operators or approvers may silence alerts ([roles] in the bot's configuration).")
            return
        respond(response_type="ephemeral", replace_original=False,
                text=services.silence_alert(fingerprint, user, SILENCE_SECONDS, "silenced for 24h from the alert"))

    def trace(body: dict[str, Any], respond: Respond) -> None:
        user, fingerprint = _clicked(body)
        if not services.may_view(user):
            respond(response_type="ephemeral", replace_original=False, text="Only viewers may trace addresses.")
            return
        try:
            text = services.trace_alert(fingerprint)
        except Exception:
            log.exception("tracing the owner of alert %s failed", fingerprint)
            text = ":x: Tracing the owner failed; the bot's log has the details."
        respond(response_type="ephemeral", replace_original=False, text=text)

    app.action(ACTION_SILENCE)(ack=acknowledge, lazy=[silence])
    app.action(ACTION_TRACE)(ack=acknowledge, lazy=[trace])
    for action_id in (ACTION_TRUST, ACTION_END):
        app.action(action_id)(ack=acknowledge, lazy=[not_yet])
