"""Slack's id shapes and the payload pieces the server parts share: slash-command payloads, default
channel names, generated ids (trigger, view, envelope) and finding a clickable element in blocks."""

from __future__ import annotations

import itertools
import re
import secrets
import time
import uuid
from typing import Any

from tests.slack_server.identity import APP_ID, TEAM_DOMAIN, TEAM_ID, VERIFICATION_TOKEN

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
USER_ID = re.compile(r"^[UW][A-Z0-9]+$")


def slash_command_payload(
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
    """A slash command as Slack sends it: the text HTML-escaped (`&`, `<` and `>` only, as in every text Slack
    sends), field order as Slack's."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": slack_escaped(text),
        "api_app_id": APP_ID,
        "is_enterprise_install": False,
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def slack_escaped(text: str) -> str:
    """What Slack sends of what a user typed: the three characters it uses for markup, escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def default_channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return f"channel-{channel_id.lower()}"


_trigger_counter = itertools.count(1)


def new_trigger_id() -> str:
    return f"{int(time.time())}{next(_trigger_counter):04d}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def random_id(prefix: str, length: int = 10) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def new_view_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def new_envelope_id() -> str:
    return str(uuid.uuid4())


def find_action(
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
