"""Links to the bot's own messages as Slack gives them (chat.getPermalink), asked by the delivery worker once
it has posted a message that others link to, and remembered; reading one never calls Slack, so it fits in an
ack. A message Slack gave no link for is named without one, never with a link built by hand."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from http.client import HTTPException

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

REMEMBERED = 1000  # messages whose link is kept; the oldest is forgotten first
LINKED_KEYS = ("request:",)  # outbox keys of the messages others link to: the approval messages
_LINK = re.compile(r"https://[^\s|<>]+")  # what may stand inside <link|label> in mrkdwn


class Permalinks:
    def __init__(self, client: WebClient, linked_keys: Sequence[str] = LINKED_KEYS) -> None:
        self.client = client
        self.linked_keys = tuple(linked_keys)
        self._known: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def of_key(self, message_key: str) -> str | None:
        """The link to the message posted under `message_key`; None when it is not posted yet or Slack gave
        none (or the bot started since)."""
        with self._lock:
            return self._known.get(message_key)

    def posted(self, message_key: str, channel: str, ts: str) -> None:
        """The delivery worker posted a message (`DeliveryWorker.on_posted`): ask Slack its link if others
        link to it."""
        if not message_key.startswith(self.linked_keys):
            return
        try:
            link = self.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SlackApiError as error:
            log.info("Slack gave no link to %s: %s; it is named without one", message_key, error.response.get("error"))
            return
        except (OSError, HTTPException) as error:
            log.info("Slack gave no link to %s: %s; it is named without one", message_key, error)
            return
        if not isinstance(link, str) or not _LINK.fullmatch(link):
            log.warning("Slack's link to %s is not an https address; it is named without one", message_key)
            return
        with self._lock:
            self._known[message_key] = link
            while len(self._known) > REMEMBERED:
                self._known.popitem(last=False)


def linked(label: str, link: str | None) -> str:
    """`label` as a mrkdwn link when there is one, plain otherwise."""
    return f"<{link}|{label}>" if link else label
