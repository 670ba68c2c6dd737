"""Links to the bot's own messages as Slack gives them (chat.getPermalink): asked once per message and
remembered; a message Slack gives no link for is named without one, never with a link built by hand."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from http.client import HTTPException

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from storage import outbox
from storage.database import Storage

log = logging.getLogger(__name__)

REMEMBERED = 1000  # messages whose link is kept; the oldest asked is forgotten first
_LINK = re.compile(r"https://[^\s|<>]+")  # what may stand inside <link|label> in mrkdwn


class Permalinks:
    def __init__(self, storage: Storage, client: WebClient) -> None:
        self.storage = storage
        self.client = client
        self._known: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def of_key(self, message_key: str) -> str | None:
        """The link to the message posted under `message_key`; None when it is not posted yet or Slack gives
        none. May call Slack: not for code that must answer within Slack's 3 seconds or holds the database."""
        message = outbox.sent_message(self.storage, message_key)
        if message is None:
            return None
        key = (message.channel, message.ts)
        with self._lock:
            if key in self._known:
                return self._known[key]
        try:
            link = self.client.chat_getPermalink(channel=message.channel, message_ts=message.ts).get("permalink")
        except SlackApiError as error:
            log.info("Slack gave no link to %s: %s", message_key, error.response.get("error"))
            return None
        except (OSError, HTTPException) as error:
            log.info("Slack gave no link to %s: %s", message_key, error)
            return None
        if not isinstance(link, str) or not _LINK.fullmatch(link):
            log.warning("Slack's link to %s is not an https address; it is left out", message_key)
            return None
        with self._lock:
            self._known[key] = link
            while len(self._known) > REMEMBERED:
                self._known.popitem(last=False)
        return link


def linked(label: str, link: str | None) -> str:
    """`label` as a mrkdwn link when there is one, plain otherwise."""
    return f"<{link}|{label}>" if link else label
