"""Saying in Slack that the bot's database stopped, or started again, taking writes.

The outbox lives in that database, so this message cannot go through it: it is posted straight through the
Web API to the alerts channel, once when an outage starts and once when it ends, from a thread of its own so
the writer that noticed never waits for Slack. It is not retried later: if Slack cannot be reached either,
the ERROR in the bot's log (and `/ibmi status`, once Slack answers) is what remains.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.slack.blocks import text_blocks
from storage.health import StorageProblem

log = logging.getLogger(__name__)


def outage_text(problem: StorageProblem) -> str:
    since = datetime.fromtimestamp(problem.since, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f":rotating_light: *The bot's database cannot be written* (since {since}): {problem.reason}. "
        f"To fix: {problem.fix}. Until then checks still run, but their runs and alerts are not recorded "
        "(new findings are alerted once it can be written) and commands that change something are refused."
    )


def recovery_text(ended: StorageProblem, now: float) -> str:
    minutes = max(1, round((now - ended.since) / 60))
    return (
        f":white_check_mark: The bot's database takes writes again (it could not for about {minutes} min: "
        f"{ended.reason}). Findings of the checks run meanwhile are alerted at their next run."
    )


class StorageAlarm:
    """A `StorageHealth` subscriber posting each outage's start and end to `channel`, in order."""

    def __init__(self, client: WebClient, channel: str, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.channel = channel
        self.clock = clock
        self._texts: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None

    def __call__(self, problem: StorageProblem | None, ended: StorageProblem | None) -> None:
        if problem is not None:
            self._texts.put(outage_text(problem))
        elif ended is not None:
            self._texts.put(recovery_text(ended, self.clock()))
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._post_forever, name="storage-alarm", daemon=True)
                self._thread.start()

    def _post_forever(self) -> None:
        while True:
            text = self._texts.get()
            try:
                self.client.chat_postMessage(channel=self.channel, text=text, blocks=text_blocks(text))
            except Exception as error:
                log.warning("could not say in Slack that the database's state changed (%s): %s", error, text)
