"""Block Kit checks on plain-dict blocks and views: a subset of the limits Slack enforces, reported
as Slack's ``[ERROR] ... [json-pointer:...]`` messages."""

from __future__ import annotations

import secrets
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000

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


def validate_blocks(blocks: Any, max_blocks: int, root: str = "/blocks") -> list[str]:
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
                action_ids: set[str | None] = set()
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


def validate_view(view: Any, *, allowed_types: tuple[str, ...]) -> list[str]:
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
    errors += validate_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS, root="/view/blocks")
    return errors


def with_block_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slack fills in a random ``block_id`` for blocks that have none."""
    filled = []
    for block in blocks:
        block = dict(block)
        block.setdefault("block_id", secrets.token_urlsafe(4)[:5])
        filled.append(block)
    return filled
