"""Requests as Slack sends them to an HTTP-mode app: signature headers and the form bodies of slash
commands and interactions."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

from slack_sdk.signature import SignatureVerifier

from tests.slack_server.identity import TEAM_DOMAIN, TEAM_ID
from tests.slack_server.payloads import default_channel_name, new_trigger_id, slash_command_payload


def sign_request(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The ``X-Slack-Request-Timestamp``/``X-Slack-Signature`` headers Slack sends with ``body``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
    assert signature is not None  # only None without a timestamp or body
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
    payload = slash_command_payload(
        text=text,
        command=command,
        user_id=user_id,
        channel_id=channel_id,
        response_url=response_url
        or f"https://hooks.slack.com/commands/{team_id}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}",
        user_name=user_name or f"user-{user_id.lower()}",
        channel_name=channel_name or default_channel_name(channel_id),
        trigger_id=trigger_id or new_trigger_id(),
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
