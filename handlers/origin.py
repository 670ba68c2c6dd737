"""Requests bound to their origin: a Bolt middleware run after Slack's signature has been verified and before
any listener.

- A replayed request is answered once. In HTTP mode a request is named by its `X-Slack-Signature` and
  `X-Slack-Request-Timestamp`; Bolt accepts a signature for five minutes either side of its timestamp, so a
  request seen before is remembered until then (plus a minute for clock skew) and a second copy is refused.
  In Socket Mode there is no signature to replay (the WebSocket is opened with the app-level token), and
  Bolt hands the middleware no envelope id, so nothing is remembered.
- A request must come from the bot's own workspace, app and (on Enterprise Grid) organisation
  (`bot.slack.identity`): a request naming another `team_id`, `api_app_id` or `enterprise_id`, or none, is
  refused; while the bot's identity is unknown every request is refused.

A refusal is silent (an empty 200, so Slack shows nothing and no listener runs) and recorded as one audit
row by the gate.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from slack_bolt import App, BoltRequest, BoltResponse

from bot.slack.identity import SlackIdentity
from handlers.gate import Attempt, Gate

log = logging.getLogger(__name__)

SIGNATURE_WINDOW = 5 * 60  # seconds either side of its timestamp that Bolt accepts a signature
CLOCK_SKEW = 60.0
MAX_REMEMBERED = 20_000  # about 70 signed requests a second for five minutes


class IdentityPort(Protocol):
    def current(self) -> SlackIdentity | None: ...


class ReplayCache:
    """The requests seen while their signature is valid: bounded in time (each is forgotten once Bolt would
    refuse its timestamp anyway) and in size (the oldest is forgotten first). Thread-safe."""

    def __init__(self, clock: Callable[[], float], max_entries: int = MAX_REMEMBERED):
        self._clock = clock
        self._max = max_entries
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()  # key → when it may be forgotten
        self._lock = threading.Lock()
        self._warned = False

    def first_time(self, signature: str, timestamp: str) -> bool:
        """True the first time a (signature, timestamp) is seen while it is remembered, False for a copy."""
        now = self._clock()
        key = (signature, timestamp)
        with self._lock:
            self._forget_expired(now)
            if key in self._seen:
                return False
            try:
                signed_at = float(timestamp)
            except ValueError:
                signed_at = now
            self._seen[key] = max(signed_at, now) + SIGNATURE_WINDOW + CLOCK_SKEW
            if len(self._seen) > self._max:
                self._seen.popitem(last=False)
                if not self._warned:
                    self._warned = True
                    log.warning(
                        "more than %d signed requests within five minutes: the oldest are forgotten early, "
                        "so a copy of one of them would no longer be refused",
                        self._max,
                    )
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def _forget_expired(self, now: float) -> None:
        # Forget times grow with insertion order except under clock skew; stop at the first one still due.
        while self._seen:
            key, forget_at = next(iter(self._seen.items()))
            if forget_at > now:
                break
            del self._seen[key]


class Origin:
    def __init__(self, gate: Gate, identity: IdentityPort, replays: ReplayCache):
        self._gate = gate
        self._identity = identity
        self._replays = replays

    def middleware(self, req: BoltRequest, resp: BoltResponse, next_: Callable[[], BoltResponse]) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        why = self._replayed(req) or self.foreign(body)
        if why is None:
            return next_()
        user = _user_of(body)
        log.warning("refused a Slack request from %s: %s", user or "an unknown user", why)
        self._gate.record(user, Attempt(_attempted(body), _subject_of(body)), why)
        return BoltResponse(status=200, body="")

    def _replayed(self, req: BoltRequest) -> str | None:
        if req.mode != "http":
            return None
        signature, timestamp = _header(req, "x-slack-signature"), _header(req, "x-slack-request-timestamp")
        if not signature or not timestamp:
            return None  # signature verification is off (tests of listeners alone): nothing to replay
        if self._replays.first_time(signature, timestamp):
            return None
        return "a replayed request (its signature and timestamp were seen before)"

    def foreign(self, body: dict[str, Any]) -> str | None:
        """Why the request does not come from the bot's own workspace, app and organisation; None when it does."""
        own = self._identity.current()
        if own is None:
            return "the bot's own workspace is not known yet (auth.test has not answered)"
        team, app, enterprise = _team_of(body), _text(body.get("api_app_id")), _enterprise_of(body)
        if team != own.team_id:
            return f"team_id {team or '(none)'} is not the bot's workspace {own.team_id}"
        if own.app_id is not None and app != own.app_id:
            return f"api_app_id {app or '(none)'} is not the bot's app {own.app_id}"
        if enterprise is not None and enterprise != own.enterprise_id:
            return f"enterprise_id {enterprise} is not the bot's organisation {own.enterprise_id or '(none)'}"
        return None


def register(app: App, origin: Origin) -> None:
    app.use(origin.middleware)


def _header(req: BoltRequest, name: str) -> str:
    values = req.headers.get(name) or []
    return str(values[0]) if values else ""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _team_of(body: dict[str, Any]) -> str | None:
    """The workspace a request comes from: `team_id` (commands, events) or `team.id` (interactions)."""
    team = body.get("team")
    return _text(body.get("team_id")) or (_text(team.get("id")) if isinstance(team, dict) else None)


def _enterprise_of(body: dict[str, Any]) -> str | None:
    enterprise = body.get("enterprise")
    return _text(body.get("enterprise_id")) or (_text(enterprise.get("id")) if isinstance(enterprise, dict) else None)


def _user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return _text(user.get("id")) or ""
    event = body.get("event")
    if isinstance(event, dict) and isinstance(event.get("user"), str):
        return str(event["user"])
    return _text(body.get("user_id")) or ""


def _attempted(body: dict[str, Any]) -> str:
    """What the request asked for, in a few words: "/ibmi", "click request_approve", "form smtp_add_entry"."""
    if "command" in body:
        return str(body.get("command") or "a slash command")
    kind = str(body.get("type") or "a request")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        return f"click {first.get('action_id', '?')}"
    if kind in ("view_submission", "view_closed"):
        return f"form {_field(body, 'view', 'callback_id')}"
    if kind == "event_callback":
        return f"event {_field(body, 'event', 'type')}"
    return kind


def _field(body: dict[str, Any], part: str, name: str) -> str:
    inner = body.get(part)
    return str(inner.get(name, "?")) if isinstance(inner, dict) else "?"


def _subject_of(body: dict[str, Any]) -> str:
    """The team and app the request named, so the audit shows where it came from."""
    return f"team {_team_of(body) or '(none)'}, app {_text(body.get('api_app_id')) or '(none)'}"
