"""The person who clicked or submitted a form, and where they are answered: through the response_url of the
message they clicked in; else ephemerally in the channel a form came from; else (a click in the App Home, where
Slack gives no response_url, or a channel the bot may not post in) by a direct message from the bot."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.ibmi.errors import IbmiError
from bot.slack import blocks
from handlers.ibmi_errors import ibmi_failure_text
from handlers.storage_errors import STORAGE_ERRORS, storage_failure_text

log = logging.getLogger(__name__)

SLACK_CALL_ERRORS = (SlackClientError, OSError)  # refused by Slack, or no answer (timeouts are OSErrors)


@dataclass(frozen=True)
class Actor:
    client: WebClient
    user: str
    respond: Respond | None = None  # with a response_url: the click came from a message
    channel: str = ""  # where a form came from ("" from the App Home)

    def tell(self, text: str) -> None:
        """Never raises: when no way reaches the person, the log says so (once, without a traceback)."""
        if self._responded(text) or self._ephemeral(text):
            return
        try:
            self.client.chat_postMessage(channel=self.user, text=text, blocks=blocks.text_blocks(text))
        except SLACK_CALL_ERRORS as error:
            log.warning("telling %s %r failed: %s", self.user, text[:200], _reason(error))

    def answer(self, what: str, system: str, job: Callable[[], str]) -> None:
        """Runs `job` (off the ack) and tells the person what it answered, or why it failed: the database, the
        IBM i `system` ("" when it needs none) or, logged with its traceback, anything else."""
        try:
            text = job()
        except STORAGE_ERRORS as error:
            text = storage_failure_text(error, what)
        except IbmiError as error:
            text = ibmi_failure_text(error, system or "the system", what)
        except Exception:
            log.exception("%s failed", what)
            text = f":x: {what} failed; the bot's log has the details."
        self.tell(text)

    def _responded(self, text: str) -> bool:
        if self.respond is None or self.respond.response_url is None:
            return False
        try:
            answer = self.respond(response_type="ephemeral", replace_original=False, text=text)
        except SLACK_CALL_ERRORS as error:
            log.warning("answering %s through the response_url failed: %s", self.user, _reason(error))
            return False
        return bool(answer.status_code == 200)

    def _ephemeral(self, text: str) -> bool:
        if not self.channel:
            return False
        try:
            self.client.chat_postEphemeral(
                channel=self.channel, user=self.user, text=text, blocks=blocks.text_blocks(text)
            )
        except SLACK_CALL_ERRORS as error:
            log.info("answering %s in %s failed (%s); sent as a DM", self.user, self.channel, _reason(error))
            return False
        return True


def clicked_in_home(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view" and (body.get("view") or {}).get("type") == "home"


def channel_of(body: dict[str, Any]) -> str:
    """The channel of the message a button was clicked in ("" in the App Home)."""
    return str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")


def _reason(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if response is not None:
        return f"Slack answered {response.get('error')}"
    return f"Slack did not answer ({type(error).__name__}: {error})"


def form_not_opened(error: BaseException) -> str:
    """What the person is told when Slack did not open a form (tried once, inside the ack)."""
    log.warning("views.open failed: %s", _reason(error))
    return (
        f":warning: The form could not be opened: {_reason(error)}. Nothing was changed; please try again in a moment."
    )
