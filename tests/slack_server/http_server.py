"""The HTTP plumbing under the Web API and ``response_url``: the threaded server, reading request
parameters the ways Slack accepts them, and the API error a method handler raises."""

from __future__ import annotations

import email.parser
import email.policy
import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit


class RequestDispatcher(Protocol):
    """What the HTTP server hands every request to (the :class:`SlackTestServer`)."""

    def _dispatch(self, handler: RequestHandler) -> None: ...


class ApiError(Exception):
    """Raised inside a method handler: answered as ``{"ok": false, "error": ...}``."""

    def __init__(
        self, error: str, *, status: int = HTTPStatus.OK, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra


class RequestHandler(BaseHTTPRequestHandler):
    server: HttpServer
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


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: RequestDispatcher, host: str) -> None:
        self.owner = owner
        super().__init__((host, 0), RequestHandler)


def parse_params(handler: RequestHandler, raw: bytes) -> tuple[dict[str, Any], bool]:
    """Merge the query string and the body; returns (params, body_was_json)."""
    params: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))
    content_type = (handler.headers.get("Content-Type") or "").lower()
    if not raw:
        return params, False
    if content_type.startswith("application/json"):
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError("invalid_json") from exc
        if not isinstance(body, dict):
            raise ApiError("invalid_json")
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
            decoded = part.get_payload(decode=True)
            payload = decoded if isinstance(decoded, bytes) else b""
            params[str(name)] = payload if part.get_filename() else payload.decode("utf-8", "replace")
        return params, False
    # application/x-www-form-urlencoded (Slack also treats text/plain bodies as a form).
    params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return params, False


def json_param(params: dict[str, Any], name: str, *, format_error: str) -> Any:
    """A structured argument: a list/dict in JSON bodies, a JSON string in form bodies."""
    value = params.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApiError(format_error) from exc
    return value


def bearer_token(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None
