"""The Web API endpoint: its address, tokens and scopes, recorded calls, injected faults (429 with
``Retry-After``, 5xx, dropped connections) and the dispatch of a call to its method handler.

The method handlers themselves live in the ``api_*`` modules, as mixins of :class:`WebApi`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from tests.slack_server.http_server import ApiError, HttpServer, RequestHandler, bearer_token, parse_params
from tests.slack_server.identity import BOT_ID, BOT_USER_ID, BOT_USER_NAME, TEAM_DOMAIN, TEAM_ID, TEAM_NAME

# Scopes a bot token needs per method; any one of a tuple is enough (as Slack documents them).
_METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.delete": ("chat:write",),
    "users.info": ("users:read",),
    "usergroups.users.list": ("usergroups:read",),
    "conversations.open": ("channels:manage", "groups:write", "im:write", "mpim:write"),
}

STATUS_ERRORS: dict[int, str] = {
    HTTPStatus.TOO_MANY_REQUESTS: "ratelimited",
    HTTPStatus.INTERNAL_SERVER_ERROR: "internal_error",
    HTTPStatus.BAD_GATEWAY: "fatal_error",
    HTTPStatus.SERVICE_UNAVAILABLE: "service_unavailable",
    HTTPStatus.GATEWAY_TIMEOUT: "request_timeout",
}


@dataclass(frozen=True)
class RecordedCall:
    """One Web API request as the server received it.

    ``params`` merges the query string with the form or JSON body (JSON values keep their types,
    form values are strings, e.g. ``blocks`` arrives as a JSON string in a form body). ``headers``
    has lower-case names. ``fault`` is set when an injected fault answered the call (``"429"``,
    ``"500"``, ``"drop"`` ...); ``status``/``response`` are what the server answered (``None``
    for a dropped connection).
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    token: str | None
    status: int | None = None
    response: dict[str, Any] | None = None
    fault: str | None = None

    @property
    def faulted(self) -> bool:
        return self.fault is not None

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.response is None else self.response.get("error")


@dataclass
class _Fault:
    """A fault queued by ``fail_next``/``drop_next`` for the next ``remaining`` calls."""

    kind: str  # "status" or "drop"
    remaining: int
    status: int = HTTPStatus.TOO_MANY_REQUESTS
    retry_after: int | None = None
    error: str | None = None
    channel: str | None = None  # only calls naming this channel (None: any call)


@dataclass
class ApiRequest:
    """A Web API call that passed authentication, as method handlers see it."""

    method: str
    params: dict[str, Any]
    token: str | None
    token_kind: str | None


class WebApi:
    """Base of :class:`SlackTestServer`: authenticates, records and answers Web API calls.

    Subclasses supply :meth:`_method_handlers`; the state is set up by ``SlackTestServer.__init__``.
    """

    bot_token: str
    app_token: str
    enforce_scopes: bool
    host: str
    _cond: threading.Condition
    _tokens: dict[str, tuple[str, tuple[str, ...]]]
    _revoked: set[str]
    _calls: list[RecordedCall]
    _faults: dict[str, deque[_Fault]]
    _latency: dict[str, float]
    _holding: bool
    _holding_channel: str | None
    _holding_method: str | None
    _held: int
    _http: HttpServer | None

    def _method_handlers(self) -> dict[str, Callable[[ApiRequest], dict[str, Any]]]:
        """Web API method name -> handler returning the answer's fields (``ok`` is added)."""
        raise NotImplementedError

    # address -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("SlackTestServer is not running")
        return self._http.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``"""
        return f"http://{self.host}:{self.port}/"

    @property
    def base_url(self) -> str:
        """Web API base for ``WebClient(base_url=...)``: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.url}api/"

    # tokens ----------------------------------------------------------------------------------
    def add_token(self, token: str, kind: str | None = None, scopes: str | Iterable[str] = "") -> None:
        """Register a token with its scopes.

        ``kind`` is ``bot``, ``user`` or ``app``; by default it follows the prefix (``xapp-`` app,
        ``xoxp-`` user, anything else bot). Only app tokens may call ``apps.connections.open``.
        """
        if kind is None:
            kind = "app" if token.startswith("xapp-") else "user" if token.startswith("xoxp-") else "bot"
        if kind not in ("bot", "user", "app"):
            raise ValueError(f"unknown token kind {kind!r}")
        scope_list = [s.strip() for s in (scopes.split(",") if isinstance(scopes, str) else scopes) if s.strip()]
        with self._cond:
            self._tokens[token] = (kind, tuple(scope_list))
            self._revoked.discard(token)

    def revoke_token(self, token: str) -> None:
        """Later calls with ``token`` fail with ``token_revoked``."""
        with self._cond:
            self._revoked.add(token)

    @property
    def scopes(self) -> str:
        """The bot token's scopes as sent in ``x-oauth-scopes``."""
        with self._cond:
            return ",".join(self._tokens[self.bot_token][1])

    # recording -------------------------------------------------------------------------------
    @property
    def calls(self) -> list[RecordedCall]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._cond:
            return [c for c in self._calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """Wait until ``method`` was called ``count`` times (faulted calls included); returns them."""
        with self._cond:
            reached = self._cond.wait_for(lambda: sum(1 for c in self._calls if c.method == method) >= count, timeout)
            calls = [c for c in self._calls if c.method == method]
            if not reached:
                seen = [f"{c.method}({c.error or 'ok'})" for c in self._calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s, got {len(calls)}; received: {seen}"
                )
            return calls

    def wait_until(self, condition: Callable[[list[RecordedCall]], bool], timeout: float = 5.0) -> list[RecordedCall]:
        """Wait until ``condition`` holds of every call recorded so far; returns them."""
        with self._cond:
            if not self._cond.wait_for(lambda: condition(list(self._calls)), timeout):
                seen = [f"{c.method}({c.error or 'ok'})" for c in self._calls]
                raise AssertionError(f"the calls did not satisfy the condition within {timeout}s; received: {seen}")
            return list(self._calls)

    # fault injection -------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` (naming ``channel``, when given) with an HTTP error.

        429 carries ``Retry-After: retry_after`` and ``{"ok": false, "error": "ratelimited"}``;
        5xx carry ``internal_error``/``service_unavailable``/... . ``status=200`` with ``error``
        injects a plain API error (e.g. ``not_in_channel``). ``method`` ``"response_url"`` targets
        posts to response URLs.
        """
        if status == HTTPStatus.OK and not error:
            raise ValueError("status=200 needs an error name")
        fault = _Fault(
            "status", times, status, retry_after if status == HTTPStatus.TOO_MANY_REQUESTS else None, error, channel
        )
        with self._cond:
            self._faults.setdefault(method, deque()).append(fault)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without answering the next ``times`` calls to ``method``."""
        with self._cond:
            self._faults.setdefault(method, deque()).append(_Fault("drop", times))

    def set_latency(self, seconds: float, method: str = "*") -> None:
        """Answer every later call to ``method`` (``"*"``: any method) ``seconds`` late, as a slow Slack would."""
        with self._cond:
            self._latency[method] = seconds

    def hold_answers(self, channel: str | None = None, method: str | None = None) -> None:
        """Keep later calls (naming ``channel``, of ``method``, when given) waiting, unanswered, until
        ``release_answers``."""
        with self._cond:
            self._holding = True
            self._holding_channel = channel
            self._holding_method = method

    def release_answers(self) -> None:
        with self._cond:
            self._holding = False
            self._cond.notify_all()

    def wait_until_held(self, count: int, timeout: float = 5.0) -> int:
        """Wait until ``count`` calls are held at once; returns how many are."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._held >= count, timeout):
                raise AssertionError(f"expected {count} calls held at once within {timeout}s, got {self._held}")
            return self._held

    def _hold(self, method: str, params: dict[str, Any]) -> None:
        with self._cond:
            if not self._holding or self._holding_channel not in (None, params.get("channel")):
                return
            if self._holding_method not in (None, method):
                return
            self._held += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._holding, 30)
            self._held -= 1

    def _take_fault(self, method: str, params: dict[str, Any] | None = None) -> _Fault | None:
        with self._cond:
            queue = self._faults.get(method)
            if not queue:
                return None
            fault = next((f for f in queue if f.channel is None or f.channel == (params or {}).get("channel")), None)
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.remove(fault)
            return fault

    def _handle_api(self, handler: RequestHandler, method: str, raw: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        at = time.time()
        try:
            params, from_json = parse_params(handler, raw)
        except ApiError as exc:
            params, from_json = {}, False
            parse_error: ApiError | None = exc
        else:
            parse_error = None
        token = bearer_token(headers.get("authorization"))
        if token is None and not from_json and isinstance(params.get("token"), str):
            token = params["token"]

        def record(status: int | None, response: dict[str, Any] | None, fault: str | None = None) -> None:
            call = RecordedCall(
                method, params, headers, at, token, None if status is None else int(status), response, fault
            )
            with self._cond:
                self._calls.append(call)
                self._cond.notify_all()

        with self._cond:
            latency = self._latency.get(method, self._latency.get("*", 0.0))
        if latency:
            time.sleep(latency)  # the server's own answer time, not a test waiting
        self._hold(method, params)
        fault = self._take_fault(method, params)
        if fault is not None:
            if fault.kind == "drop":
                record(None, None, "drop")
                handler.drop()
                return
            body = {"ok": False, "error": fault.error or STATUS_ERRORS.get(fault.status, "fatal_error")}
            extra_headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            record(fault.status, body, str(fault.status))
            handler.send_body(fault.status, json.dumps(body).encode(), "application/json; charset=utf-8", extra_headers)
            return

        status: int = HTTPStatus.OK
        response_headers: dict[str, str] = {}
        with self._cond:
            known = self._tokens.get(token or "")
        if known is not None and known[0] != "app":
            # Slack reports the token's scopes (and the method's) on every answer, errors included.
            response_headers["x-oauth-scopes"] = ",".join(known[1])
            if method in _METHOD_SCOPES:
                response_headers["x-accepted-oauth-scopes"] = ",".join(_METHOD_SCOPES[method])
        try:
            if parse_error is not None:
                raise parse_error
            request = self._authenticate(method, token, params)
            body, extra_headers = self._call_method(request)
            response_headers.update(extra_headers)
        except ApiError as exc:
            status = exc.status
            body = {"ok": False, "error": exc.error, **exc.extra}
            response_headers.update(exc.headers)
        record(status, body)
        handler.send_body(status, json.dumps(body).encode(), "application/json; charset=utf-8", response_headers)

    def _authenticate(self, method: str, token: str | None, params: dict[str, Any]) -> ApiRequest:
        handlers = self._method_handlers()
        if method not in handlers:
            raise ApiError("unknown_method", req_method=method)
        if not token:
            raise ApiError("not_authed")
        with self._cond:
            known = self._tokens.get(token)
            revoked = token in self._revoked
        if known is None:
            raise ApiError("invalid_auth")
        if revoked:
            raise ApiError("token_revoked")
        kind, scopes = known
        if method == "apps.connections.open":
            if kind != "app":
                raise ApiError("not_allowed_token_type")
        elif kind == "app":
            raise ApiError("not_allowed_token_type")
        needed = _METHOD_SCOPES.get(method)
        if self.enforce_scopes and kind != "app" and needed and not set(scopes).intersection(needed):
            raise ApiError("missing_scope", needed=",".join(needed), provided=",".join(sorted(scopes)))
        return ApiRequest(method, params, token, kind)

    def _token_scopes(self, request: ApiRequest) -> tuple[str, ...]:
        with self._cond:
            return self._tokens[request.token or ""][1]

    def _require_scope(self, request: ApiRequest, scope: str) -> None:
        scopes = self._token_scopes(request)
        if self.enforce_scopes and scope not in scopes:
            raise ApiError("missing_scope", needed=scope, provided=",".join(sorted(scopes)))

    def _has_scope(self, request: ApiRequest, scope: str) -> bool:
        return scope in self._token_scopes(request)

    def _call_method(self, request: ApiRequest) -> tuple[dict[str, Any], dict[str, str]]:
        body = self._method_handlers()[request.method](request)
        return {"ok": True, **body}, {}

    # Web API methods -------------------------------------------------------------------------
    def _auth_test(self, request: ApiRequest) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }
