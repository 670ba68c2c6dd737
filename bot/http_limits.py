"""What HTTP mode accepts before Bolt checks Slack's signature: waitress's limits, and a guard that refuses a
request body by its declared size before a byte of it is read."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from bot.config import HttpSettings

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MAX_HEADER_BYTES = 64 * 1024  # Slack's headers are well under 2 KiB; waitress's default is 256 KiB
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def waitress_options(settings: HttpSettings) -> dict[str, Any]:
    """Keyword arguments for waitress.create_server (waitress takes whole seconds)."""
    channel_timeout = max(1, math.ceil(settings.channel_timeout))
    return {
        "threads": settings.threads,
        "connection_limit": settings.connection_limit,
        "channel_timeout": channel_timeout,
        # Idle connections are looked for this often, so one is closed within 1.5 × channel_timeout.
        "cleanup_interval": max(1, min(30, channel_timeout // 2)),
        # waitress refuses a body of max_request_body_size bytes or more; the guard one of more than max_body_bytes
        "max_request_body_size": settings.max_body_bytes + 1,
        "max_request_header_size": MAX_HEADER_BYTES,
        "asyncore_use_poll": True,  # no limit of 1024 file descriptors, as select() has
        "expose_tracebacks": False,
        "clear_untrusted_proxy_headers": True,
    }


def limit_request_bodies(inner: WSGIApp, max_bytes: int) -> WSGIApp:
    """`inner` behind a guard: a body of more than `max_bytes` (413), a POST without a Content-Length (411) or
    with one that is not a number (400) is answered here, and `inner` never sees the request.

    waitress enforces the same limit while it reads (chunked bodies included, which it hands on with their
    length); the guard keeps the rule under any other WSGI server.
    """

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        declared = str(environ.get("CONTENT_LENGTH") or "").strip()
        chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING") or "").lower()
        if chunked or (not declared and environ.get("REQUEST_METHOD") not in SAFE_METHODS):
            return _refuse(start_response, "411 Length Required", "a request body needs a Content-Length")
        if declared and not declared.isdigit():
            return _refuse(start_response, "400 Bad Request", f"Content-Length {declared[:40]!r} is not a number")
        if declared and int(declared) > max_bytes:
            log.warning(
                "refused a request body of %s bytes from %s: more than [http] max_body_bytes (%d)",
                declared[:20],
                environ.get("REMOTE_ADDR", "an unknown address"),
                max_bytes,
            )
            return _refuse(
                start_response, "413 Content Too Large", f"a request body may have at most {max_bytes} bytes"
            )
        return inner(environ, start_response)

    return guarded


def _refuse(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    body = f"{text}\n".encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
