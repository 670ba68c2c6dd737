"""``response_url`` endpoints: handed out per interaction, good for five posts within 30 minutes, and
every post recorded."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from tests.slack_server.http_server import RequestHandler
from tests.slack_server.web_api import STATUS_ERRORS, WebApi

RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0


@dataclass(frozen=True)
class ResponseCall:
    """One POST to a ``response_url``; ``status`` is the HTTP status the server answered."""

    url_id: str
    body: dict[str, Any]
    at: float
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass
class _ResponseUrl:
    url_id: str
    created: float
    uses: int = 0
    expired: bool = False


class ResponseUrls(WebApi):
    """The ``/response/<id>`` endpoints; faults for them are injected under the name ``"response_url"``."""

    _response_urls: dict[str, _ResponseUrl]
    _responses: list[ResponseCall]

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

    def _handle_response_url(self, handler: RequestHandler, url_id: str, raw: bytes) -> None:
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
            answer(fault.status, fault.error or STATUS_ERRORS.get(fault.status, "fatal_error"))
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


def _url_id(url_or_id: str) -> str:
    return url_or_id.rstrip("/").rsplit("/", 1)[-1]
