"""Web API conversations: channels the bot knows, where a message goes (a user id means the DM),
``conversations.open`` and ``conversations.info``."""

from __future__ import annotations

import time
from typing import Any

from tests.slack_server.http_server import ApiError
from tests.slack_server.identity import TEAM_ID
from tests.slack_server.payloads import CHANNEL_ID, USER_ID, default_channel_name
from tests.slack_server.web_api import ApiRequest, WebApi

# conversations.info needs the read scope of the kind of conversation asked about.
_CONVERSATION_READ_SCOPE = {
    "public": "channels:read",
    "private": "groups:read",
    "im": "im:read",
    "mpim": "mpim:read",
}


class ConversationMethods(WebApi):
    """Channels, DMs and the ``conversations.*`` methods."""

    _known_channels: set[str] | None
    _channels: dict[str, dict[str, Any]]
    _dms: dict[str, str]

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
        if not CHANNEL_ID.match(channel_id):
            raise ValueError(f"not a channel id: {channel_id!r}")
        private = channel_id.startswith("G") if is_private is None else is_private
        with self._cond:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name or default_channel_name(channel_id),
                "is_private": private,
                "is_member": is_member,
            }
            if self._known_channels is not None:
                self._known_channels.add(channel_id)

    def _channel_name(self, channel_id: str) -> str:
        with self._cond:
            channel = self._channels.get(channel_id)
        return channel["name"] if channel else default_channel_name(channel_id)

    def _resolve_channel(self, request: ApiRequest, value: Any, *, for_posting: bool = True) -> str:
        """Channel id a message goes to; a user id means the bot's DM with that user."""
        if not isinstance(value, str) or not value:
            raise ApiError("channel_not_found")
        if USER_ID.match(value):
            return self._open_dm(value)
        if not CHANNEL_ID.match(value):
            raise ApiError("channel_not_found")
        with self._cond:
            known = self._known_channels
            channel = self._channels.get(value)
            is_open_dm = value in self._dms.values()
        if known is not None and value not in known and not is_open_dm:
            raise ApiError("channel_not_found")
        if for_posting and channel is not None and not channel["is_member"]:
            if channel["is_private"]:
                raise ApiError("channel_not_found")
            if not self._has_scope(request, "chat:write.public"):
                raise ApiError("not_in_channel")
        return value

    def _open_dm(self, user_id: str) -> str:
        with self._cond:
            return self._dms.setdefault(user_id, f"D{user_id[1:]}")

    def _conversations_open(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        channel = params.get("channel")
        if channel:
            return {"no_op": True, "already_open": True, "channel": {"id": str(channel)}}
        users = params.get("users")
        user_ids = users if isinstance(users, list) else str(users or "").split(",")
        user_ids = [u.strip() for u in user_ids if u and u.strip()]
        if not user_ids:
            raise ApiError("users_list_not_supplied")
        if any(not USER_ID.match(u) for u in user_ids):
            raise ApiError("user_not_found")
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

    def _conversations_info(self, request: ApiRequest) -> dict[str, Any]:
        channel_id = request.params.get("channel")
        if not isinstance(channel_id, str) or not CHANNEL_ID.match(channel_id):
            raise ApiError("channel_not_found")
        with self._cond:
            channel = self._channels.get(channel_id)
            dm_user = next((u for u, d in self._dms.items() if d == channel_id), None)
            known = self._known_channels
        if channel_id.startswith("D"):
            self._require_scope(request, _CONVERSATION_READ_SCOPE["im"])
            if dm_user is None and known is not None:
                raise ApiError("channel_not_found")
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
            raise ApiError("channel_not_found")
        info = channel or {
            "id": channel_id,
            "name": default_channel_name(channel_id),
            "is_private": channel_id.startswith("G"),
            "is_member": True,
        }
        kind = "mpim" if info.get("is_mpim") else ("private" if info["is_private"] else "public")
        self._require_scope(request, _CONVERSATION_READ_SCOPE[kind])
        if info["is_private"] and not info["is_member"]:
            raise ApiError("channel_not_found")
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
