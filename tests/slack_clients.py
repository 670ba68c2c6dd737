"""Client-side helpers for the tests of the Slack stand-in (``tests.slack_server``): a ``WebClient``
bound to it, sample blocks and a plain form POST."""

from __future__ import annotations

import json
import urllib.request

from slack_sdk import WebClient

from tests.slack_server import DEFAULT_BOT_TOKEN, SlackTestServer


def bot_client(slack: SlackTestServer, **kwargs: object) -> WebClient:
    kwargs.setdefault("retry_handlers", [])
    return WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.base_url, **kwargs)  # type: ignore[arg-type]


def section(text: str, block_id: str | None = None) -> dict[str, object]:
    block: dict[str, object] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def approval_blocks(request_id: str) -> list[dict[str, object]]:
    return [
        section(f"Request *{request_id}*: enable QSECOFR"),
        {
            "type": "actions",
            "block_id": f"decide-{request_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": request_id,
                },
                {
                    "type": "button",
                    "action_id": "reject",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "style": "danger",
                    "value": request_id,
                },
            ],
        },
    ]


def post_form(url: str, body: str) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())
