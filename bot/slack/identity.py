"""The bot's own place in Slack: the workspace (team), the app and, on Enterprise Grid, the organisation
it is installed in, so that a request naming another can be refused.

`auth.test` with the bot token names the team and the enterprise, and the app when Slack includes
`app_id` in its answer; `[slack] team_id` and `[slack] app_id` in the configuration take precedence. The
answer is asked for once; until it has been had (Slack unreachable at start), it is asked for again at
most every `retry` seconds and the bot's identity is unknown, which refuses every request (fail closed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient

log = logging.getLogger(__name__)

DEFAULT_RETRY = 30.0


@dataclass(frozen=True)
class SlackIdentity:
    team_id: str
    app_id: str | None  # None: not known, so a request's api_app_id cannot be checked
    enterprise_id: str | None  # None: not an Enterprise Grid workspace


class OwnIdentity:
    """Thread-safe. `client`: a WebClient with the bot token, or None (then only the configuration counts)."""

    def __init__(
        self,
        client: WebClient | None,
        team_id: str | None = None,
        app_id: str | None = None,
        clock: Callable[[], float] = time.time,
        retry: float = DEFAULT_RETRY,
    ) -> None:
        self._client = client
        self._team_id = team_id
        self._app_id = app_id
        self._clock = clock
        self._retry = retry
        self._lock = threading.Lock()
        self._known: SlackIdentity | None = None
        self._last_attempt: float | None = None

    def current(self) -> SlackIdentity | None:
        """The bot's identity, or None while neither the configuration nor `auth.test` has named its team."""
        with self._lock:
            if self._known is not None:
                return self._known
            now = self._clock()
            if self._last_attempt is not None and now - self._last_attempt < self._retry:
                return None
            self._last_attempt = now
            self._known = self._ask()
            return self._known

    def _ask(self) -> SlackIdentity | None:
        answer: dict[str, object] = {}
        if self._client is not None:
            try:
                answer = dict(self._client.auth_test().data or {})  # type: ignore[arg-type]
            except Exception as error:  # unreachable, revoked token …: refuse until Slack answers
                log.warning("auth.test failed, so the bot's own workspace is not known yet: %s", error)
                if self._team_id is None:
                    return None
        team = self._team_id or _text(answer.get("team_id"))
        if team is None:
            if self._client is not None and answer:
                log.warning("auth.test named no team_id; set [slack] team_id")
            return None
        app = self._app_id or _text(answer.get("app_id"))
        if app is None:
            log.warning(
                "the bot's app id is unknown (auth.test did not name it): requests' api_app_id is not "
                "checked; set [slack] app_id to check it"
            )
        return SlackIdentity(team, app, _text(answer.get("enterprise_id")))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
