"""Web API messages: ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``chat.delete`` and
``chat.getPermalink``, and the messages the bot posted as the server stores them."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.slack_server.api_conversations import ConversationMethods
from tests.slack_server.block_kit import MAX_MESSAGE_BLOCKS, MAX_MESSAGE_TEXT, validate_blocks, with_block_ids
from tests.slack_server.http_server import ApiError, json_param
from tests.slack_server.identity import APP_ID, BOT_ID, BOT_USER_ID, BOT_USER_NAME, TEAM_DOMAIN, TEAM_ID
from tests.slack_server.payloads import USER_ID
from tests.slack_server.web_api import ApiRequest


class ChatMethods(ConversationMethods):
    """The ``chat.*`` methods and the stored messages (thread replies included)."""

    _messages: dict[str, dict[str, dict[str, Any]]]
    _last_ts_us: int

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

    def _next_ts(self) -> str:
        with self._cond:
            now_us = int(time.time() * 1_000_000)
            self._last_ts_us = max(now_us, self._last_ts_us + 100)
            return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _message_content(self, params: dict[str, Any], *, max_blocks: int) -> tuple[str | None, Any, Any]:
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        blocks = json_param(params, "blocks", format_error="invalid_blocks_format")
        attachments = json_param(params, "attachments", format_error="invalid_attachments")
        if blocks is not None:
            errors = validate_blocks(blocks, max_blocks)
            if errors:
                raise ApiError("invalid_blocks", response_metadata={"messages": errors})
        if text is not None and len(text) > MAX_MESSAGE_TEXT:
            raise ApiError("msg_too_long")
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
            message["blocks"] = with_block_ids(blocks)
        if attachments:
            message["attachments"] = attachments
        return message

    def _chat_post_message(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        channel = self._resolve_channel(request, params.get("channel"))
        text, blocks, attachments = self._message_content(params, max_blocks=MAX_MESSAGE_BLOCKS)
        if not text and not blocks and not attachments:
            raise ApiError("no_text")
        ts = self._next_ts()
        message = self._bot_message(ts, text, blocks, attachments)
        thread_ts = params.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            message["parent_user_id"] = BOT_USER_ID
        if "metadata" in params:
            message["metadata"] = json_param(params, "metadata", format_error="invalid_metadata_format")
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
            raise ApiError("message_not_found")
        with self._cond:
            message = self._messages.get(channel, {}).get(ts)
        if message is None:
            raise ApiError("message_not_found")
        return message

    def _chat_update(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        channel = self._resolve_channel(request, params.get("channel"))
        text, blocks, attachments = self._message_content(params, max_blocks=MAX_MESSAGE_BLOCKS)
        if text is None and blocks is None and attachments is None:
            raise ApiError("no_text")
        ts = params.get("ts")
        with self._cond:
            stored = self._stored_message(channel, ts)
            if text is not None:
                stored["text"] = text
            if blocks is not None:
                if blocks:
                    stored["blocks"] = with_block_ids(blocks)
                else:
                    stored.pop("blocks", None)
            if attachments is not None:
                stored["attachments"] = attachments
            stored["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
            message = {k: v for k, v in stored.items() if k not in ("channel", "ts", "edited")}
        return {"channel": channel, "ts": ts, "text": stored["text"], "message": message}

    def _chat_post_ephemeral(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        self._resolve_channel(request, params.get("channel"))
        user = params.get("user")
        if not isinstance(user, str) or not USER_ID.match(user):
            raise ApiError("user_not_found")
        text, blocks, attachments = self._message_content(params, max_blocks=MAX_MESSAGE_BLOCKS)
        if not text and not blocks and not attachments:
            raise ApiError("no_text")
        # Ephemeral messages are not stored: chat.update on their ts answers message_not_found.
        return {"message_ts": self._next_ts()}

    def _chat_delete(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        channel = self._resolve_channel(request, params.get("channel"))
        ts = params.get("ts")
        with self._cond:
            self._stored_message(channel, ts)
            del self._messages[channel][str(ts)]  # a str: checked by _stored_message
        return {"channel": channel, "ts": ts}

    def permalink(self, channel: str, ts: str) -> str:
        """The address Slack gives a message: the workspace's own domain, not slack.com."""
        return f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"

    def _chat_get_permalink(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        channel = self._resolve_channel(request, params.get("channel"))
        ts = params.get("message_ts")
        self._stored_message(channel, ts)
        return {"channel": channel, "permalink": self.permalink(channel, str(ts))}
