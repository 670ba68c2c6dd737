"""A local stand-in for Slack: Web API, ``response_url`` webhooks and Socket Mode.

Slack cannot be reached from the test environment, so :class:`SlackTestServer` plays its part where
the bot can observe it:

* a real HTTP server answering the Web API methods the bot uses (``base_url`` ends in ``/api/`` so
  ``WebClient(base_url=...)`` works unchanged), with Slack's token, scope, channel and Block Kit
  checks, and fault injection (429 with ``Retry-After``, 5xx, dropped connections);
* ``response_url`` endpoints (:meth:`SlackTestServer.new_response_url`) that accept up to five posts
  like Slack's;
* a Socket Mode WebSocket endpoint (:attr:`SlackTestServer.socket`) handed out by
  ``apps.connections.open``, which greets clients with ``hello``, pushes envelopes built like Slack's
  and records the acknowledgements.

Every request is recorded so tests can assert on what the bot sent. Use it as a context manager::

    with SlackTestServer() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)

or through the ``slack_server`` pytest fixture (:func:`slack_server_fixture`).
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import secrets
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from slack_sdk.signature import SignatureVerifier
from websockets.sync.server import Server, ServerConnection, serve

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_SCOPES",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "RecordedCall",
    "ResponseCall",
    "SlackTestServer",
    "SocketModeServer",
    "interactive_form",
    "sign_request",
    "slack_server_fixture",
    "slash_command_form",
]

DEFAULT_BOT_TOKEN = "xoxb-test-token"
DEFAULT_APP_TOKEN = "xapp-test-token"
DEFAULT_SCOPES = "chat:write,commands,users:read,usergroups:read,im:write"

TEAM_ID = "T0WARDEN"
TEAM_NAME = "Warden Test"
TEAM_DOMAIN = "wardentest"
BOT_USER_ID = "U0BOT"
BOT_USER_NAME = "ibmi-warden"
BOT_ID = "B0BOT"
APP_ID = "A0WARDEN"
# The deprecated verification token Slack still puts in every payload.
VERIFICATION_TOKEN = "Wt3stVer1f1cat10nT0ken"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0

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
# conversations.info needs the read scope of the kind of conversation asked about.
_CONVERSATION_READ_SCOPE = {
    "public": "channels:read",
    "private": "groups:read",
    "im": "im:read",
    "mpim": "mpim:read",
}

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")

_KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)

_STATUS_ERRORS = {
    HTTPStatus.TOO_MANY_REQUESTS: "ratelimited",
    HTTPStatus.INTERNAL_SERVER_ERROR: "internal_error",
    HTTPStatus.BAD_GATEWAY: "fatal_error",
    HTTPStatus.SERVICE_UNAVAILABLE: "service_unavailable",
    HTTPStatus.GATEWAY_TIMEOUT: "request_timeout",
}


# --------------------------------------------------------------------------------------------------
# Records


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


@dataclass(frozen=True)
class ResponseCall:
    """One POST to a ``response_url``; ``status`` is the HTTP status the server answered."""

    url_id: str
    body: dict[str, Any]
    at: float
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass
class _Fault:
    kind: str  # "status" or "drop"
    remaining: int
    status: int = HTTPStatus.TOO_MANY_REQUESTS
    retry_after: int | None = None
    error: str | None = None


@dataclass
class _ResponseUrl:
    url_id: str
    created: float
    uses: int = 0
    expired: bool = False


class _ApiError(Exception):
    """Raised inside a method handler: answered as ``{"ok": false, "error": ...}``."""

    def __init__(
        self, error: str, *, status: int = HTTPStatus.OK, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra


@dataclass
class _Request:
    method: str
    params: dict[str, Any]
    token: str | None
    token_kind: str | None


# --------------------------------------------------------------------------------------------------
# Helpers for HTTP-mode tests


def sign_request(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The ``X-Slack-Request-Timestamp``/``X-Slack-Signature`` headers Slack sends with ``body``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature}


def slash_command_form(
    text: str,
    command: str = "/ibmi",
    user_id: str = "U1",
    channel_id: str = "C1",
    response_url: str | None = None,
    *,
    user_name: str | None = None,
    channel_name: str | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
) -> str:
    """The url-encoded form body Slack POSTs for a slash command (HTTP mode)."""
    payload = _slash_command_payload(
        text=text,
        command=command,
        user_id=user_id,
        channel_id=channel_id,
        response_url=response_url
        or f"https://hooks.slack.com/commands/{team_id}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}",
        user_name=user_name or f"user-{user_id.lower()}",
        channel_name=channel_name or _default_channel_name(channel_id),
        trigger_id=trigger_id or _new_trigger_id(),
        team_id=team_id,
        team_domain=team_domain,
    )
    return urlencode({k: _form_value(v) for k, v in payload.items()})


def interactive_form(payload: dict[str, Any]) -> str:
    """The form body Slack POSTs for an interaction: ``payload=<url-encoded JSON>``."""
    return "payload=" + quote(json.dumps(payload))


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _slash_command_payload(
    *,
    text: str,
    command: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    user_name: str,
    channel_name: str,
    trigger_id: str,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
) -> dict[str, Any]:
    # Field order as Slack sends it.
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": False,
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def _default_channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return f"channel-{channel_id.lower()}"


_trigger_counter = itertools.count(1)


def _new_trigger_id() -> str:
    return f"{int(time.time())}{next(_trigger_counter):04d}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def _random_id(prefix: str, length: int = 10) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _new_view_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


# --------------------------------------------------------------------------------------------------
# Block Kit validation (a subset of the limits Slack enforces on plain-dict blocks)


def _check_text_object(obj: Any, pointer: str, *, max_len: int = 3000, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"[ERROR] must provide an object [json-pointer:{pointer}]"]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [f"[ERROR] must be one of {', '.join(allowed)} [json-pointer:{pointer}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > max_len:
        return [f"[ERROR] must be less than {max_len + 1} characters [json-pointer:{pointer}/text]"]
    return []


def _check_max_len(value: Any, max_len: int, pointer: str) -> list[str]:
    if isinstance(value, str) and len(value) > max_len:
        return [f"[ERROR] must be less than {max_len + 1} characters [json-pointer:{pointer}]"]
    return []


def _check_element(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"[ERROR] must provide an object with a type [json-pointer:{pointer}]"]
    errors = _check_max_len(element.get("action_id"), 255, f"{pointer}/action_id")
    if element["type"] == "button":
        errors += _check_text_object(element.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
        errors += _check_max_len(element.get("value"), 2000, f"{pointer}/value")
        errors += _check_max_len(element.get("url"), 3000, f"{pointer}/url")
        if "style" in element and element["style"] not in ("primary", "danger"):
            errors.append(f"[ERROR] must be one of primary, danger [json-pointer:{pointer}/style]")
    return errors


def _validate_blocks(blocks: Any, max_blocks: int, root: str = "/blocks") -> list[str]:
    """Slack-style ``[ERROR] ... [json-pointer:...]`` messages for invalid blocks (empty if valid)."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must provide an array [json-pointer:{root}]"]
    if len(blocks) > max_blocks:
        return [f"[ERROR] no more than {max_blocks} items allowed [json-pointer:{root}]"]
    errors: list[str] = []
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        pointer = f"{root}/{index}"
        if not isinstance(block, dict):
            errors.append(f"[ERROR] must provide an object [json-pointer:{pointer}]")
            continue
        block_type = block.get("type")
        if block_type not in _KNOWN_BLOCK_TYPES:
            errors.append(f"[ERROR] unsupported type: {block_type} [json-pointer:{pointer}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            errors += _check_max_len(block_id, 255, f"{pointer}/block_id")
            if block_id in block_ids:
                errors.append(f"[ERROR] duplicate block_id: {block_id} [json-pointer:{pointer}/block_id]")
            block_ids.add(block_id)
        if block_type == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"[ERROR] must provide text or fields [json-pointer:{pointer}]")
            if "text" in block:
                errors += _check_text_object(block["text"], f"{pointer}/text")
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    errors.append(f"[ERROR] no more than 10 items allowed [json-pointer:{pointer}/fields]")
                else:
                    for n, item in enumerate(fields):
                        errors += _check_text_object(item, f"{pointer}/fields/{n}", max_len=2000)
            if "accessory" in block:
                errors += _check_element(block["accessory"], f"{pointer}/accessory")
        elif block_type == "header":
            errors += _check_text_object(block.get("text"), f"{pointer}/text", max_len=150, plain_only=True)
        elif block_type in ("actions", "context", "context_actions"):
            limit = {"actions": 25, "context": 10, "context_actions": 5}[block_type]
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                errors.append(f"[ERROR] must provide at least 1 item [json-pointer:{pointer}/elements]")
            elif len(elements) > limit:
                errors.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}/elements]")
            elif block_type != "context":
                action_ids: set[str] = set()
                for n, element in enumerate(elements):
                    errors += _check_element(element, f"{pointer}/elements/{n}")
                    action_id = element.get("action_id") if isinstance(element, dict) else None
                    if action_id is not None and action_id in action_ids:
                        errors.append(f"[ERROR] duplicate action_id: {action_id} [json-pointer:{pointer}/elements/{n}]")
                    action_ids.add(action_id)
        elif block_type == "input":
            errors += _check_text_object(block.get("label"), f"{pointer}/label", max_len=2000, plain_only=True)
            if "hint" in block:
                errors += _check_text_object(block["hint"], f"{pointer}/hint", max_len=2000, plain_only=True)
            if not isinstance(block.get("element"), dict):
                errors.append(f"[ERROR] must provide an object [json-pointer:{pointer}/element]")
        elif block_type == "image":
            if "image_url" not in block and "slack_file" not in block:
                errors.append(f"[ERROR] must provide image_url or slack_file [json-pointer:{pointer}]")
            alt_text = block.get("alt_text")
            if not isinstance(alt_text, str) or not alt_text:
                errors.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/alt_text]")
            errors += _check_max_len(alt_text, 2000, f"{pointer}/alt_text")
            errors += _check_max_len(block.get("image_url"), 3000, f"{pointer}/image_url")
    return errors


def _validate_view(view: Any, *, allowed_types: tuple[str, ...]) -> list[str]:
    if not isinstance(view, dict):
        return ["[ERROR] must provide an object [json-pointer:/view]"]
    view_type = view.get("type")
    if view_type not in allowed_types:
        return [f"[ERROR] must be one of {', '.join(allowed_types)} [json-pointer:/view/type]"]
    errors: list[str] = []
    if view_type == "modal":
        errors += _check_text_object(view.get("title"), "/view/title", max_len=24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                errors += _check_text_object(view[key], f"/view/{key}", max_len=24, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and "submit" not in view:
            errors.append("[ERROR] must provide submit when the view has input blocks [json-pointer:/view/submit]")
    errors += _check_max_len(view.get("private_metadata"), 3000, "/view/private_metadata")
    errors += _check_max_len(view.get("callback_id"), 255, "/view/callback_id")
    errors += _check_max_len(view.get("external_id"), 255, "/view/external_id")
    errors += _validate_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS, root="/view/blocks")
    return errors


def _with_block_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slack fills in a random ``block_id`` for blocks that have none."""
    filled = []
    for block in blocks:
        block = dict(block)
        block.setdefault("block_id", secrets.token_urlsafe(4)[:5])
        filled.append(block)
    return filled


# --------------------------------------------------------------------------------------------------
# HTTP request handler


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.server.owner._dispatch(self)

    do_GET = do_POST  # Slack accepts GET for every method

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_body(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        """End the connection without writing a response (the client sees RemoteDisconnected)."""
        self.close_connection = True


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: SlackTestServer, host: str) -> None:
        self.owner = owner
        super().__init__((host, 0), _Handler)


def _parse_params(handler: _Handler, raw: bytes) -> tuple[dict[str, Any], bool]:
    """Merge the query string and the body; returns (params, body_was_json)."""
    params: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))
    content_type = (handler.headers.get("Content-Type") or "").lower()
    if not raw:
        return params, False
    if content_type.startswith("application/json"):
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _ApiError("invalid_json") from exc
        if not isinstance(body, dict):
            raise _ApiError("invalid_json")
        params.update(body)
        return params, True
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {handler.headers.get('Content-Type')}\r\n\r\n".encode() + raw
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name is None:
                continue
            payload = part.get_payload(decode=True) or b""
            params[str(name)] = payload if part.get_filename() else payload.decode("utf-8", "replace")
        return params, False
    # application/x-www-form-urlencoded (Slack also treats text/plain bodies as a form).
    params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return params, False


def _json_param(params: dict[str, Any], name: str, *, format_error: str) -> Any:
    """A structured argument: a list/dict in JSON bodies, a JSON string in form bodies."""
    value = params.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise _ApiError(format_error) from exc
    return value


# --------------------------------------------------------------------------------------------------
# Socket Mode


class SocketModeServer:
    """The Socket Mode side of :class:`SlackTestServer` (``slack.socket``).

    ``apps.connections.open`` hands out ``ws://127.0.0.1:PORT/link/?ticket=...`` URLs; on connect
    the server sends Slack's ``hello``. ``send_*`` push an envelope to the newest open connection
    (waiting up to ``connect_timeout`` seconds for one) and return its ``envelope_id``; everything
    the client sends back is recorded (``received``), acknowledgements also in ``acks``.
    """

    def __init__(
        self, owner: SlackTestServer, host: str, connect_timeout: float = 5.0, ping_interval: float | None = 0.2
    ) -> None:
        self._owner = owner
        self._host = host
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []
        self._connections_opened = 0
        self._sent: list[dict[str, Any]] = []
        self._sent_at: dict[str, float] = {}
        self._received: list[dict[str, Any]] = []
        self._acks: list[dict[str, Any]] = []
        self._ack_at: dict[str, float] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # lifecycle -------------------------------------------------------------------------------
    def _start(self) -> None:
        self._server = serve(
            self._handle,
            self._host,
            0,
            process_request=self._check_ticket,
            compression=None,
            close_timeout=1,
            # Like Slack, ping the client. Frequent pings also wake the builtin SocketModeClient's
            # blocking recv (3 s timeout), so it notices its own close() and reconnects promptly.
            ping_interval=self.ping_interval,
            ping_timeout=20,
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-socket-mode", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _new_url(self) -> str:
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://{self._host}:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    def _check_ticket(self, connection: ServerConnection, request: Any) -> Any:
        parts = urlsplit(request.path)
        ticket = dict(parse_qsl(parts.query)).get("ticket")
        with self._cond:
            known = ticket in self._tickets
        if parts.path.rstrip("/") != "/link" or not known:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
        return None

    def _handle(self, connection: ServerConnection) -> None:
        with self._cond:
            self._connections.append(connection)
            self._connections_opened += 1
            count = len(self._connections)
        try:
            connection.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": count,
                        "debug_info": {
                            "host": "applink-warden-test",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": APP_ID},
                    }
                )
            )
            with self._cond:
                self._cond.notify_all()
            for raw in connection:
                self._record(raw)
        except Exception:  # a broken client connection just ends the session
            pass
        finally:
            with self._cond:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._cond.notify_all()

    def _record(self, raw: str | bytes) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = {"raw": text}
        if not isinstance(message, dict):
            message = {"raw": text}
        now = time.time()
        with self._cond:
            self._received.append(message)
            envelope_id = message.get("envelope_id")
            if envelope_id:
                self._acks.append(message)
                self._ack_at.setdefault(envelope_id, now)
            self._cond.notify_all()

    # state -----------------------------------------------------------------------------------
    @property
    def open_connections(self) -> int:
        with self._cond:
            return len(self._connections)

    @property
    def connections_opened(self) -> int:
        """How many WebSocket connections were accepted in total (reconnects included)."""
        with self._cond:
            return self._connections_opened

    @property
    def acks(self) -> list[dict[str, Any]]:
        """Messages from the client carrying an ``envelope_id`` (``{"envelope_id", "payload"?}``)."""
        with self._cond:
            return list(self._acks)

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every text message the client sent (non-JSON ones as ``{"raw": ...}``)."""
        with self._cond:
            return list(self._received)

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every envelope pushed to the client, in order."""
        with self._cond:
            return list(self._sent)

    def wait_connected(self, timeout: float = 5.0) -> None:
        """Wait until at least one client connection is open (and has been sent ``hello``)."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._connections), timeout):
                raise AssertionError(f"no Socket Mode connection within {timeout}s")

    def wait_for_connections(self, total: int, timeout: float = 5.0) -> None:
        """Wait until ``total`` connections were accepted since start (for reconnect tests)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._connections_opened >= total and bool(self._connections), timeout):
                raise AssertionError(
                    f"expected {total} Socket Mode connections within {timeout}s, "
                    f"saw {self._connections_opened} (open now: {len(self._connections)})"
                )

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The client's acknowledgement of ``envelope_id``: ``{"envelope_id": ..., "payload"?: {...}}``."""

        def find() -> dict[str, Any] | None:
            return next((a for a in self._acks if a.get("envelope_id") == envelope_id), None)

        with self._cond:
            if not self._cond.wait_for(lambda: find() is not None, timeout):
                raise AssertionError(
                    f"no ack for envelope {envelope_id} within {timeout}s; acks received: {self._acks}"
                )
            ack = find()
            assert ack is not None
            return ack

    def ack_delay(self, envelope_id: str) -> float:
        """Seconds between sending an envelope and its first ack (Slack wants < 3 s)."""
        with self._cond:
            if envelope_id not in self._ack_at:
                raise AssertionError(f"envelope {envelope_id} was not acknowledged")
            return self._ack_at[envelope_id] - self._sent_at[envelope_id]

    # sending ---------------------------------------------------------------------------------
    def _newest_connection(self) -> ServerConnection:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._connections), self.connect_timeout):
                raise AssertionError(f"no Socket Mode client connected within {self.connect_timeout}s")
            return self._connections[-1]

    def send_envelope(self, envelope: dict[str, Any]) -> str:
        """Send a raw envelope (an ``envelope_id`` is added if missing); returns the envelope id."""
        envelope = dict(envelope)
        envelope_id = envelope.setdefault("envelope_id", _new_envelope_id())
        connection = self._newest_connection()
        with self._cond:
            self._sent.append(envelope)
            self._sent_at[envelope_id] = time.time()
        connection.send(json.dumps(envelope))
        return envelope_id

    def send_message(self, message: dict[str, Any]) -> None:
        """Send any JSON message (no envelope), e.g. ``{"type": "disconnect", ...}``."""
        self._newest_connection().send(json.dumps(message))

    def send_slash_command(
        self,
        text: str,
        command: str = "/ibmi",
        user_id: str = "U1",
        channel_id: str = "C1",
        response_url: str | None = None,
        *,
        user_name: str | None = None,
        channel_name: str | None = None,
        trigger_id: str | None = None,
    ) -> str:
        """Deliver a ``slash_commands`` envelope as Slack does; returns its ``envelope_id``.

        ``response_url`` defaults to a fresh :meth:`SlackTestServer.new_response_url`, and the
        ``trigger_id`` is registered so ``views.open`` enforces Slack's 3 s / single-use rule.
        """
        owner = self._owner
        payload = _slash_command_payload(
            text=text,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url or owner.new_response_url(),
            user_name=user_name or owner._user_name(user_id),
            channel_name=channel_name or owner._channel_name(channel_id),
            trigger_id=trigger_id or owner._issue_trigger_id(),
        )
        return self.send_envelope(
            {
                "envelope_id": _new_envelope_id(),
                "payload": payload,
                "type": "slash_commands",
                "accepts_response_payload": True,
            }
        )

    def send_interactive(self, payload: dict[str, Any], accepts_response_payload: bool | None = None) -> str:
        """Deliver an ``interactive`` envelope (block_actions, view_submission, shortcut ...).

        ``accepts_response_payload`` defaults to True for ``block_actions`` (as in Slack's Socket
        Mode docs), ``view_submission`` and ``block_suggestion``, False for shortcuts and
        ``view_closed``. A ``trigger_id`` in the payload is registered for ``views.open``.
        """
        if accepts_response_payload is None:
            accepts_response_payload = payload.get("type") in (
                "block_actions",
                "view_submission",
                "block_suggestion",
            )
        if payload.get("trigger_id"):
            self._owner._register_trigger_id(payload["trigger_id"])
        return self.send_envelope(
            {
                "envelope_id": _new_envelope_id(),
                "payload": payload,
                "type": "interactive",
                "accepts_response_payload": accepts_response_payload,
            }
        )

    def send_block_action(
        self,
        channel: str,
        message_ts: str,
        action_id: str,
        user_id: str = "U1",
        *,
        block_id: str | None = None,
        response_url: str | None = None,
    ) -> str:
        """Click the button ``action_id`` on a message the bot posted, as a user would.

        The message must exist on the server (posted with ``chat.postMessage`` or edited with
        ``chat.update``) and contain that button; the ``block_actions`` payload carries the
        message, its container, the channel, a new ``response_url`` and ``trigger_id``.
        """
        owner = self._owner
        message = owner.message(channel, message_ts)
        if message is None:
            raise AssertionError(f"no message {message_ts} in {channel}; a user could not click on it")
        found = _find_action(message.get("blocks") or [], action_id, block_id)
        if found is None:
            raise AssertionError(f"message {message_ts} in {channel} has no element with action_id {action_id!r}")
        block, element = found
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block["block_id"],
            "type": element.get("type"),
            "action_ts": f"{time.time():.6f}",
        }
        for key in ("text", "value", "style"):
            if key in element:
                action[key] = element[key]
        payload = {
            "type": "block_actions",
            "user": {
                "id": user_id,
                "username": owner._user_name(user_id),
                "name": owner._user_name(user_id),
                "team_id": TEAM_ID,
            },
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": message["channel"],
                "is_ephemeral": False,
            },
            "trigger_id": owner._issue_trigger_id(),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message["channel"], "name": owner._channel_name(message["channel"])},
            "message": {k: v for k, v in message.items() if k != "channel"},
            "state": {"values": {}},
            "response_url": response_url or owner.new_response_url(),
            "actions": [action],
        }
        return self.send_interactive(payload)

    def send_view_submission(
        self, view_id: str, values: dict[str, dict[str, dict[str, Any]]], user_id: str = "U1"
    ) -> str:
        """Submit an open modal: ``values`` is ``view.state.values`` (block_id → action_id → value)."""
        owner = self._owner
        view = owner.view(view_id)
        if view is None:
            raise AssertionError(f"no open view {view_id}")
        submitted = dict(view, state={"values": values})
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": {
                "id": user_id,
                "username": owner._user_name(user_id),
                "name": owner._user_name(user_id),
                "team_id": TEAM_ID,
            },
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": owner._issue_trigger_id(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.send_interactive(payload)

    def send_event(
        self,
        event: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        event_id: str | None = None,
        event_time: int | None = None,
    ) -> str:
        """Deliver an ``events_api`` envelope wrapping ``event`` in an ``event_callback`` payload."""
        event_type = event.get("type", "event")
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "context_team_id": TEAM_ID,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or _random_id("Ev"),
            "event_time": event_time if event_time is not None else int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{event_type}-{TEAM_ID}-{secrets.token_hex(6)}",
        }
        return self.send_envelope(
            {
                "envelope_id": _new_envelope_id(),
                "payload": payload,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": retry_attempt,
                "retry_reason": retry_reason,
            }
        )

    def send_disconnect(self, reason: str = "warning") -> None:
        """Send Slack's ``{"type": "disconnect"}`` notice to every connection.

        Slack's reasons: ``warning`` (about 10 s before a refresh), ``refresh_requested``,
        ``link_disabled``.
        """
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-warden-test"}}
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.send(json.dumps(message))

    def disconnect_all(self, code: int = 1001, reason: str = "", *, abrupt: bool = False) -> None:
        """Drop every client connection: a WebSocket close frame, or with ``abrupt`` a bare TCP reset.

        After an abrupt drop the client only notices through its own ping checks
        (``ping_interval``), just as with a real network failure.
        """
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(Exception):
                if abrupt:
                    # Linger 0 turns the close into a TCP reset; shutting down the read side wakes
                    # the connection's receiving thread, which then closes the socket.
                    connection.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    connection.socket.shutdown(socket.SHUT_RD)
                else:
                    connection.close(code, reason)


def _new_envelope_id() -> str:
    return str(uuid.uuid4())


def _find_action(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    return None


# --------------------------------------------------------------------------------------------------
# The server


class SlackTestServer:
    """Local Slack: Web API on ``base_url``, ``response_url`` endpoints and Socket Mode (``socket``).

    Args:
        bot_token / app_token: registered tokens (more with :meth:`add_token`).
        scopes: the bot token's scopes, comma-separated; sent as ``x-oauth-scopes`` and enforced per
            method (``missing_scope``) unless ``enforce_scopes`` is False.
        channels: if given, the only channel ids ``chat.*`` accept (plus those added with
            :meth:`add_channel` and DMs opened by the bot); otherwise any ``C…``/``G…``/``D…`` id.
        trigger_ttl: seconds a ``trigger_id`` issued by this server stays valid (Slack: 3).
        socket_ping_interval: seconds between WebSocket pings to Socket Mode clients (None: off).
    """

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        scopes: str = DEFAULT_SCOPES,
        channels: Iterable[str] | None = None,
        enforce_scopes: bool = True,
        trigger_ttl: float | None = 3.0,
        socket_ping_interval: float | None = 0.2,
        host: str = "127.0.0.1",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.enforce_scopes = enforce_scopes
        self.trigger_ttl = trigger_ttl
        self.host = host
        self._cond = threading.Condition()
        self._tokens: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._revoked: set[str] = set()
        self.add_token(bot_token, "bot", scopes)
        self.add_token(app_token, "app", "connections:write")
        self._known_channels: set[str] | None = set(channels) if channels is not None else None
        self._channels: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._dms: dict[str, str] = {}
        self._calls: list[RecordedCall] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._responses: list[ResponseCall] = []
        self._messages: dict[str, dict[str, dict[str, Any]]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._triggers: dict[str, tuple[float, bool]] = {}
        self._last_ts_us = 0
        self._http: _HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self.socket = SocketModeServer(self, host, ping_interval=socket_ping_interval)
        self.add_user(BOT_USER_ID, name=BOT_USER_NAME, real_name=BOT_USER_NAME, is_bot=True)

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> SlackTestServer:
        if self._http is not None:
            return self
        self._http = _HttpServer(self, self.host)
        # A short poll interval keeps shutdown() quick (the default waits up to 0.5 s).
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-web-api", daemon=True
        )
        self._http_thread.start()
        self.socket._start()
        return self

    def stop(self) -> None:
        self.socket._stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
            self._http_thread = None

    def __enter__(self) -> SlackTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

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

    # registries ------------------------------------------------------------------------------
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

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "Europe/Amsterdam",
        email: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        title: str = "",
    ) -> dict[str, Any]:
        """Add a user for ``users.info`` (``profile.email`` is only shown with ``users:read.email``)."""
        name = name or f"user-{user_id.lower()}"
        real_name = real_name or name
        try:
            now = datetime.now(ZoneInfo(tz))
            offset = int(now.utcoffset().total_seconds()) if now.utcoffset() else 0
            tz_label = now.tzname() or tz
        except (ZoneInfoNotFoundError, ValueError):
            offset, tz_label = 0, tz
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": offset,
            "profile": {
                "title": title,
                "phone": "",
                "skype": "",
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": name,
                "display_name_normalized": name,
                "status_text": "",
                "status_emoji": "",
                "email": email,
                "team": TEAM_ID,
            },
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "is_email_confirmed": email is not None,
        }
        if is_bot:
            user["profile"]["bot_id"] = BOT_ID
        with self._cond:
            self._users[user_id] = user
        return user

    def add_usergroup(
        self, usergroup_id: str, *, handle: str, users: Iterable[str] = (), name: str | None = None
    ) -> None:
        """Add a user group for ``usergroups.users.list``."""
        with self._cond:
            self._usergroups[usergroup_id] = {
                "id": usergroup_id,
                "handle": handle,
                "name": name or handle,
                "users": list(users),
            }

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool | None = None,
        is_member: bool = True,
    ) -> None:
        """Add a channel (for ``conversations.info``; with ``is_member=False`` posting to a public
        channel needs ``chat:write.public``, else ``not_in_channel``)."""
        if not _CHANNEL_ID.match(channel_id):
            raise ValueError(f"not a channel id: {channel_id!r}")
        private = channel_id.startswith("G") if is_private is None else is_private
        with self._cond:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name or _default_channel_name(channel_id),
                "is_private": private,
                "is_member": is_member,
            }
            if self._known_channels is not None:
                self._known_channels.add(channel_id)

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

    def reset(self) -> None:
        """Forget recorded calls, responses, Socket Mode traffic and pending faults (not the state)."""
        with self._cond:
            self._calls.clear()
            self._responses.clear()
            self._faults.clear()
        with self.socket._cond:
            self.socket._sent.clear()
            self.socket._sent_at.clear()
            self.socket._received.clear()
            self.socket._acks.clear()
            self.socket._ack_at.clear()

    # fault injection -------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with an HTTP error.

        429 carries ``Retry-After: retry_after`` and ``{"ok": false, "error": "ratelimited"}``;
        5xx carry ``internal_error``/``service_unavailable``/... . ``status=200`` with ``error``
        injects a plain API error (e.g. ``not_in_channel``). ``method`` ``"response_url"`` targets
        posts to response URLs.
        """
        if status == HTTPStatus.OK and not error:
            raise ValueError("status=200 needs an error name")
        fault = _Fault("status", times, status, retry_after if status == HTTPStatus.TOO_MANY_REQUESTS else None, error)
        with self._cond:
            self._faults.setdefault(method, deque()).append(fault)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without answering the next ``times`` calls to ``method``."""
        with self._cond:
            self._faults.setdefault(method, deque()).append(_Fault("drop", times))

    def _take_fault(self, method: str) -> _Fault | None:
        with self._cond:
            queue = self._faults.get(method)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return fault

    # response_url ----------------------------------------------------------------------------
    def new_response_url(self) -> str:
        """A fresh ``response_url`` (``http://127.0.0.1:PORT/response/<id>``) good for 5 posts."""
        url_id = secrets.token_hex(8)
        with self._cond:
            self._response_urls[url_id] = _ResponseUrl(url_id, time.time())
        return f"{self.url}response/{url_id}"

    def expire_response_url(self, url: str) -> None:
        """Make a response URL answer ``expired_url`` as after Slack's 30 minutes."""
        with self._cond:
            self._response_urls[_url_id(url)].expired = True

    def responses(self, url_id: str | None = None) -> list[ResponseCall]:
        """Posts to response URLs (``url_id`` may also be the whole URL)."""
        wanted = _url_id(url_id) if url_id else None
        with self._cond:
            return [r for r in self._responses if wanted is None or r.url_id == wanted]

    def wait_for_response(self, count: int = 1, timeout: float = 5.0, url_id: str | None = None) -> list[ResponseCall]:
        wanted = _url_id(url_id) if url_id else None

        def matching() -> list[ResponseCall]:
            return [r for r in self._responses if wanted is None or r.url_id == wanted]

        with self._cond:
            if not self._cond.wait_for(lambda: len(matching()) >= count, timeout):
                raise AssertionError(
                    f"expected {count} response_url post(s) within {timeout}s, got {len(matching())}: "
                    f"{[r.body for r in matching()]}"
                )
            return matching()

    # stored state ----------------------------------------------------------------------------
    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A message the bot posted (latest version), with ``channel`` added; None if absent."""
        channel = self._dms.get(channel, channel)
        with self._cond:
            stored = self._messages.get(channel, {}).get(ts)
            return json.loads(json.dumps(stored)) if stored is not None else None

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages the bot posted and has not deleted, oldest first (thread replies included)."""
        channel = self._dms.get(channel, channel) if channel else None
        with self._cond:
            found = [m for ch, msgs in self._messages.items() if channel in (None, ch) for m in msgs.values()]
            return json.loads(json.dumps(sorted(found, key=lambda m: m["ts"])))

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Thread replies under ``thread_ts`` (not the parent), oldest first."""
        return [m for m in self.messages(channel) if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._cond:
            view = self._views.get(view_id)
            return json.loads(json.dumps(view)) if view is not None else None

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``."""
        with self._cond:
            view_id = self._home_views.get(user_id)
        return self.view(view_id) if view_id else None

    def slash_command_form(
        self,
        text: str,
        command: str = "/ibmi",
        user_id: str = "U1",
        channel_id: str = "C1",
        response_url: str | None = None,
    ) -> str:
        """:func:`slash_command_form` with a response URL and trigger id served by this server."""
        return slash_command_form(
            text,
            command,
            user_id,
            channel_id,
            response_url or self.new_response_url(),
            user_name=self._user_name(user_id),
            channel_name=self._channel_name(channel_id),
            trigger_id=self._issue_trigger_id(),
        )

    # internals used by SocketModeServer ------------------------------------------------------
    def _user_name(self, user_id: str) -> str:
        with self._cond:
            user = self._users.get(user_id)
        return user["name"] if user else f"user-{user_id.lower()}"

    def _channel_name(self, channel_id: str) -> str:
        with self._cond:
            channel = self._channels.get(channel_id)
        return channel["name"] if channel else _default_channel_name(channel_id)

    def _issue_trigger_id(self) -> str:
        trigger_id = _new_trigger_id()
        self._register_trigger_id(trigger_id)
        return trigger_id

    def _register_trigger_id(self, trigger_id: str) -> None:
        with self._cond:
            self._triggers.setdefault(trigger_id, (time.time(), False))

    def _next_ts(self) -> str:
        with self._cond:
            now_us = int(time.time() * 1_000_000)
            self._last_ts_us = max(now_us, self._last_ts_us + 100)
            return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    # HTTP dispatch ---------------------------------------------------------------------------
    def _dispatch(self, handler: _Handler) -> None:
        path = urlsplit(handler.path).path
        raw = handler.read_body()
        if path.startswith("/api/"):
            self._handle_api(handler, path[len("/api/") :], raw)
        elif path.startswith("/response/"):
            self._handle_response_url(handler, path[len("/response/") :].strip("/"), raw)
        else:
            handler.send_body(HTTPStatus.NOT_FOUND, b"Not Found\n", "text/plain")

    def _handle_api(self, handler: _Handler, method: str, raw: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        at = time.time()
        try:
            params, from_json = _parse_params(handler, raw)
        except _ApiError as exc:
            params, from_json = {}, False
            parse_error: _ApiError | None = exc
        else:
            parse_error = None
        token = _bearer(headers.get("authorization"))
        if token is None and not from_json and isinstance(params.get("token"), str):
            token = params["token"]

        def record(status: int | None, response: dict[str, Any] | None, fault: str | None = None) -> None:
            call = RecordedCall(
                method, params, headers, at, token, None if status is None else int(status), response, fault
            )
            with self._cond:
                self._calls.append(call)
                self._cond.notify_all()

        fault = self._take_fault(method)
        if fault is not None:
            if fault.kind == "drop":
                record(None, None, "drop")
                handler.drop()
                return
            body = {"ok": False, "error": fault.error or _STATUS_ERRORS.get(fault.status, "fatal_error")}
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
        except _ApiError as exc:
            status = exc.status
            body = {"ok": False, "error": exc.error, **exc.extra}
            response_headers.update(exc.headers)
        record(status, body)
        handler.send_body(status, json.dumps(body).encode(), "application/json; charset=utf-8", response_headers)

    def _authenticate(self, method: str, token: str | None, params: dict[str, Any]) -> _Request:
        handlers = self._method_handlers()
        if method not in handlers:
            raise _ApiError("unknown_method", req_method=method)
        if not token:
            raise _ApiError("not_authed")
        with self._cond:
            known = self._tokens.get(token)
            revoked = token in self._revoked
        if known is None:
            raise _ApiError("invalid_auth")
        if revoked:
            raise _ApiError("token_revoked")
        kind, scopes = known
        if method == "apps.connections.open":
            if kind != "app":
                raise _ApiError("not_allowed_token_type")
        elif kind == "app":
            raise _ApiError("not_allowed_token_type")
        needed = _METHOD_SCOPES.get(method)
        if self.enforce_scopes and kind != "app" and needed and not set(scopes).intersection(needed):
            raise _ApiError("missing_scope", needed=",".join(needed), provided=",".join(sorted(scopes)))
        return _Request(method, params, token, kind)

    def _token_scopes(self, request: _Request) -> tuple[str, ...]:
        with self._cond:
            return self._tokens[request.token or ""][1]

    def _require_scope(self, request: _Request, scope: str) -> None:
        scopes = self._token_scopes(request)
        if self.enforce_scopes and scope not in scopes:
            raise _ApiError("missing_scope", needed=scope, provided=",".join(sorted(scopes)))

    def _has_scope(self, request: _Request, scope: str) -> bool:
        return scope in self._token_scopes(request)

    def _method_handlers(self) -> dict[str, Callable[[_Request], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "apps.connections.open": self._apps_connections_open,
        }

    def _call_method(self, request: _Request) -> tuple[dict[str, Any], dict[str, str]]:
        body = self._method_handlers()[request.method](request)
        return {"ok": True, **body}, {}

    # Web API methods -------------------------------------------------------------------------
    def _auth_test(self, request: _Request) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _resolve_channel(self, request: _Request, value: Any, *, for_posting: bool = True) -> str:
        """Channel id a message goes to; a user id means the bot's DM with that user."""
        if not isinstance(value, str) or not value:
            raise _ApiError("channel_not_found")
        if _USER_ID.match(value):
            return self._open_dm(value)
        if not _CHANNEL_ID.match(value):
            raise _ApiError("channel_not_found")
        with self._cond:
            known = self._known_channels
            channel = self._channels.get(value)
            is_open_dm = value in self._dms.values()
        if known is not None and value not in known and not is_open_dm:
            raise _ApiError("channel_not_found")
        if for_posting and channel is not None and not channel["is_member"]:
            if channel["is_private"]:
                raise _ApiError("channel_not_found")
            if not self._has_scope(request, "chat:write.public"):
                raise _ApiError("not_in_channel")
        return value

    def _open_dm(self, user_id: str) -> str:
        with self._cond:
            return self._dms.setdefault(user_id, f"D{user_id[1:]}")

    def _message_content(self, params: dict[str, Any], *, max_blocks: int) -> tuple[str | None, Any, Any]:
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        blocks = _json_param(params, "blocks", format_error="invalid_blocks_format")
        attachments = _json_param(params, "attachments", format_error="invalid_attachments")
        if blocks is not None:
            errors = _validate_blocks(blocks, max_blocks)
            if errors:
                raise _ApiError("invalid_blocks", response_metadata={"messages": errors})
        if text is not None and len(text) > MAX_MESSAGE_TEXT:
            raise _ApiError("msg_too_long")
        return text, blocks, attachments

    def _bot_message(self, ts: str, text: str | None, blocks: Any, attachments: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": text or "",
            "team": TEAM_ID,
            "bot_profile": {
                "id": BOT_ID,
                "app_id": APP_ID,
                "name": BOT_USER_NAME,
                "deleted": False,
                "team_id": TEAM_ID,
            },
        }
        if blocks:
            message["blocks"] = _with_block_ids(blocks)
        if attachments:
            message["attachments"] = attachments
        return message

    def _chat_post_message(self, request: _Request) -> dict[str, Any]:
        params = request.params
        channel = self._resolve_channel(request, params.get("channel"))
        text, blocks, attachments = self._message_content(params, max_blocks=MAX_MESSAGE_BLOCKS)
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        ts = self._next_ts()
        message = self._bot_message(ts, text, blocks, attachments)
        thread_ts = params.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            message["parent_user_id"] = BOT_USER_ID
        if "metadata" in params:
            message["metadata"] = _json_param(params, "metadata", format_error="invalid_metadata_format")
        with self._cond:
            channel_messages = self._messages.setdefault(channel, {})
            channel_messages[ts] = {**message, "channel": channel}
            parent = channel_messages.get(str(thread_ts)) if thread_ts else None
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
                parent.setdefault("reply_users", [])
                if BOT_USER_ID not in parent["reply_users"]:
                    parent["reply_users"].append(BOT_USER_ID)
        return {"channel": channel, "ts": ts, "message": message}

    def _stored_message(self, channel: str, ts: Any) -> dict[str, Any]:
        if not isinstance(ts, str) or not ts:
            raise _ApiError("message_not_found")
        with self._cond:
            message = self._messages.get(channel, {}).get(ts)
        if message is None:
            raise _ApiError("message_not_found")
        return message

    def _chat_update(self, request: _Request) -> dict[str, Any]:
        params = request.params
        channel = self._resolve_channel(request, params.get("channel"))
        text, blocks, attachments = self._message_content(params, max_blocks=MAX_MESSAGE_BLOCKS)
        if text is None and blocks is None and attachments is None:
            raise _ApiError("no_text")
        ts = params.get("ts")
        with self._cond:
            stored = self._stored_message(channel, ts)
            if text is not None:
                stored["text"] = text
            if blocks is not None:
                if blocks:
                    stored["blocks"] = _with_block_ids(blocks)
                else:
                    stored.pop("blocks", None)
            if attachments is not None:
                stored["attachments"] = attachments
            stored["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
            message = {k: v for k, v in stored.items() if k not in ("channel", "ts", "edited")}
        return {"channel": channel, "ts": ts, "text": stored["text"], "message": message}

    def _chat_post_ephemeral(self, request: _Request) -> dict[str, Any]:
        params = request.params
        self._resolve_channel(request, params.get("channel"))
        user = params.get("user")
        if not isinstance(user, str) or not _USER_ID.match(user):
            raise _ApiError("user_not_found")
        text, blocks, attachments = self._message_content(params, max_blocks=MAX_MESSAGE_BLOCKS)
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        # Ephemeral messages are not stored: chat.update on their ts answers message_not_found.
        return {"message_ts": self._next_ts()}

    def _chat_delete(self, request: _Request) -> dict[str, Any]:
        params = request.params
        channel = self._resolve_channel(request, params.get("channel"))
        ts = params.get("ts")
        with self._cond:
            self._stored_message(channel, ts)
            del self._messages[channel][ts]
        return {"channel": channel, "ts": ts}

    def _view_argument(self, request: _Request, allowed_types: tuple[str, ...]) -> dict[str, Any]:
        view = _json_param(request.params, "view", format_error="invalid_arguments")
        if view is None:
            raise _ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        errors = _validate_view(view, allowed_types=allowed_types)
        if errors:
            raise _ApiError("invalid_arguments", response_metadata={"messages": errors})
        return view

    def _store_view(
        self,
        view: dict[str, Any],
        view_id: str,
        *,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": _with_block_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": _new_view_hash(),
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        with self._cond:
            self._views[view_id] = stored
        return json.loads(json.dumps(stored))

    def _views_open(self, request: _Request) -> dict[str, Any]:
        trigger_id = request.params.get("trigger_id")
        if not isinstance(trigger_id, str) or not trigger_id:
            raise _ApiError("invalid_trigger_id")
        self._exchange_trigger(trigger_id)
        view = self._view_argument(request, ("modal",))
        return {"view": self._store_view(view, _random_id("V"))}

    def _exchange_trigger(self, trigger_id: str) -> None:
        with self._cond:
            issued = self._triggers.get(trigger_id)
            if issued is None:
                return  # not issued here (e.g. copied from a fixture): accepted
            issued_at, used = issued
            if used:
                raise _ApiError("exchanged_trigger_id")
            if self.trigger_ttl is not None and time.time() - issued_at > self.trigger_ttl:
                raise _ApiError("expired_trigger_id")
            self._triggers[trigger_id] = (issued_at, True)

    def _views_update(self, request: _Request) -> dict[str, Any]:
        params = request.params
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        with self._cond:
            if view_id:
                current = self._views.get(str(view_id))
            elif external_id:
                current = next((v for v in self._views.values() if v["external_id"] == external_id), None)
            else:
                raise _ApiError(
                    "invalid_arguments",
                    response_metadata={"messages": ["[ERROR] view_id or external_id is required"]},
                )
        if current is None:
            raise _ApiError("not_found")
        expected_hash = params.get("hash")
        if expected_hash and expected_hash != current["hash"]:
            raise _ApiError("hash_conflict")
        view = self._view_argument(request, ("modal", "home"))
        return {"view": self._store_view(view, current["id"], root_view_id=current["root_view_id"])}

    def _views_publish(self, request: _Request) -> dict[str, Any]:
        params = request.params
        user_id = params.get("user_id")
        if not isinstance(user_id, str) or not _USER_ID.match(user_id):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] invalid user_id"]})
        view = self._view_argument(request, ("home",))
        with self._cond:
            view_id = self._home_views.get(user_id)
            current = self._views.get(view_id) if view_id else None
        expected_hash = params.get("hash")
        if current is not None and expected_hash and expected_hash != current["hash"]:
            raise _ApiError("hash_conflict")
        view_id = view_id or _random_id("V")
        stored = self._store_view(view, view_id)
        with self._cond:
            self._home_views[user_id] = view_id
        return {"view": stored}

    def _users_info(self, request: _Request) -> dict[str, Any]:
        user_id = request.params.get("user")
        with self._cond:
            user = self._users.get(str(user_id))
        if user is None:
            raise _ApiError("user_not_found")
        user = json.loads(json.dumps(user))
        if not self._has_scope(request, "users:read.email") or user["profile"].get("email") is None:
            user["profile"].pop("email", None)
        return {"user": user}

    def _usergroups_users_list(self, request: _Request) -> dict[str, Any]:
        group_id = request.params.get("usergroup")
        with self._cond:
            group = self._usergroups.get(str(group_id))
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def _conversations_open(self, request: _Request) -> dict[str, Any]:
        params = request.params
        channel = params.get("channel")
        if channel:
            return {"no_op": True, "already_open": True, "channel": {"id": str(channel)}}
        users = params.get("users")
        user_ids = users if isinstance(users, list) else str(users or "").split(",")
        user_ids = [u.strip() for u in user_ids if u and u.strip()]
        if not user_ids:
            raise _ApiError("users_list_not_supplied")
        if any(not _USER_ID.match(u) for u in user_ids):
            raise _ApiError("user_not_found")
        if len(user_ids) == 1:
            with self._cond:
                already = user_ids[0] in self._dms
            dm_id = self._open_dm(user_ids[0])
            body: dict[str, Any] = {"channel": {"id": dm_id}}
            if already:
                body = {"no_op": True, "already_open": True, **body}
            return body
        mpim_id = "G" + "".join(sorted(u[1:] for u in user_ids))[:20]
        with self._cond:
            self._channels.setdefault(
                mpim_id,
                {
                    "id": mpim_id,
                    "name": "mpdm-" + "--".join(user_ids),
                    "is_private": True,
                    "is_member": True,
                    "is_mpim": True,
                },
            )
            if self._known_channels is not None:
                self._known_channels.add(mpim_id)
        return {"channel": {"id": mpim_id}}

    def _conversations_info(self, request: _Request) -> dict[str, Any]:
        channel_id = request.params.get("channel")
        if not isinstance(channel_id, str) or not _CHANNEL_ID.match(channel_id):
            raise _ApiError("channel_not_found")
        with self._cond:
            channel = self._channels.get(channel_id)
            dm_user = next((u for u, d in self._dms.items() if d == channel_id), None)
            known = self._known_channels
        if channel_id.startswith("D"):
            self._require_scope(request, _CONVERSATION_READ_SCOPE["im"])
            if dm_user is None and known is not None:
                raise _ApiError("channel_not_found")
            return {
                "channel": {
                    "id": channel_id,
                    "created": int(time.time()),
                    "is_im": True,
                    "is_org_shared": False,
                    "user": dm_user or "",
                    "is_user_deleted": False,
                    "priority": 0,
                }
            }
        if channel is None and known is not None and channel_id not in known:
            raise _ApiError("channel_not_found")
        info = channel or {
            "id": channel_id,
            "name": _default_channel_name(channel_id),
            "is_private": channel_id.startswith("G"),
            "is_member": True,
        }
        kind = "mpim" if info.get("is_mpim") else ("private" if info["is_private"] else "public")
        self._require_scope(request, _CONVERSATION_READ_SCOPE[kind])
        if info["is_private"] and not info["is_member"]:
            raise _ApiError("channel_not_found")
        return {
            "channel": {
                "id": channel_id,
                "name": info["name"],
                "is_channel": not info["is_private"],
                "is_group": info["is_private"] and not info.get("is_mpim", False),
                "is_im": False,
                "is_mpim": bool(info.get("is_mpim", False)),
                "is_private": info["is_private"],
                "created": int(time.time()),
                "is_archived": False,
                "is_general": False,
                "is_member": info["is_member"],
                "name_normalized": info["name"],
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "context_team_id": TEAM_ID,
                "creator": "U0ADMIN",
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
        }

    def _apps_connections_open(self, request: _Request) -> dict[str, Any]:
        return {"url": self.socket._new_url()}

    # response_url ----------------------------------------------------------------------------
    def _handle_response_url(self, handler: _Handler, url_id: str, raw: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        at = time.time()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError):
            body = {"raw": raw.decode("utf-8", "replace")}

        def answer(status: int, error: str | None) -> None:
            with self._cond:
                self._responses.append(ResponseCall(url_id, body, at, headers, int(status)))
                self._cond.notify_all()
            if error is None:
                handler.send_body(status, b"ok", "text/html")
            else:
                handler.send_body(
                    status,
                    json.dumps({"ok": False, "error": error}).encode(),
                    "application/json; charset=utf-8",
                )

        fault = self._take_fault("response_url")
        if fault is not None:
            if fault.kind == "drop":
                handler.drop()
                return
            answer(fault.status, fault.error or _STATUS_ERRORS.get(fault.status, "fatal_error"))
            return
        with self._cond:
            entry = self._response_urls.get(url_id)
            if entry is None:
                state = "unknown"
            elif entry.expired or at - entry.created > RESPONSE_URL_LIFETIME:
                state = "expired"
            elif entry.uses >= RESPONSE_URL_MAX_USES:
                state = "used"
            else:
                state = "ok"
        if state == "unknown":
            answer(HTTPStatus.NOT_FOUND, "invalid_url")
        elif state == "expired":
            answer(HTTPStatus.NOT_FOUND, "expired_url")
        elif state == "used":
            answer(HTTPStatus.NOT_FOUND, "used_url")
        elif "raw" in body:
            answer(HTTPStatus.BAD_REQUEST, "invalid_payload")
        elif not (body.get("text") or body.get("blocks") or body.get("attachments") or body.get("delete_original")):
            answer(HTTPStatus.BAD_REQUEST, "no_text")
        else:
            with self._cond:
                if entry is not None:
                    entry.uses += 1
            answer(HTTPStatus.OK, None)


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None


def _url_id(url_or_id: str) -> str:
    return url_or_id.rstrip("/").rsplit("/", 1)[-1]


# --------------------------------------------------------------------------------------------------
# pytest fixture


@pytest.fixture(name="slack_server")
def slack_server_fixture() -> Iterator[SlackTestServer]:
    """A running :class:`SlackTestServer` per test (fixture name ``slack_server``)."""
    with SlackTestServer() as server:
        yield server
