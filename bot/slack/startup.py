"""Waiting for Slack at start: `auth.test` is asked until Slack answers, so an outage at boot only delays
joining Slack (checks run and alerts wait in the outbox meanwhile); a token Slack refuses stops the bot with
one line saying what to do."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.delivery import worker_client
from bot.slack.parking import TOKEN_ERRORS, fix_for

log = logging.getLogger(__name__)

FIRST_WAIT = 1.0
MAX_WAIT = 60.0


class TokenRefused(Exception):
    """Slack refused the bot token: waiting will not help."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(f"Slack refused the bot token ({error}): {fix_for(error, '')}")


def wait_for_slack(
    client: WebClient,
    stopping: threading.Event,
    wait: Callable[[float], object] | None = None,
    max_wait: float = MAX_WAIT,
) -> dict[str, Any] | None:
    """`auth.test` until Slack answers (waits of 1, 2, 4 … seconds, at most `max_wait`); its answer, or None
    when `stopping` was set first. Raises TokenRefused when Slack refuses the token."""
    pause = wait or stopping.wait
    checker = worker_client(client)  # the waits are ours: no retries hidden inside the call
    delay = FIRST_WAIT
    while not stopping.is_set():
        try:
            return dict(checker.auth_test().data or {})  # type: ignore[arg-type]
        except SlackApiError as exc:
            response = exc.response
            error = str(response.get("error") or "unknown_error") if response is not None else "unknown_error"
            if error in TOKEN_ERRORS:
                raise TokenRefused(error) from None
            status = getattr(response, "status_code", None)
            reason = f"HTTP {status} {error}" if status and status != 200 else error
        except (OSError, HTTPException, SlackClientError) as exc:  # refused, reset, timed out, DNS
            reason = f"{type(exc).__name__}: {exc}"
        log.warning(
            "Slack is not answering yet (auth.test: %s); checks run and alerts wait in the outbox; "
            "trying again in %g s",
            reason,
            delay,
        )
        pause(delay)
        delay = min(max_wait, delay * 2)
    return None
