"""Web API users: the workspace's users and user groups, ``users.info`` and ``usergroups.users.list``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.slack_server.http_server import ApiError
from tests.slack_server.identity import BOT_ID, TEAM_ID
from tests.slack_server.web_api import ApiRequest, WebApi


class UserMethods(WebApi):
    """Users, user groups and the methods that read them."""

    _users: dict[str, dict[str, Any]]
    _usergroups: dict[str, dict[str, Any]]

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
            utc_offset = now.utcoffset()
            offset = int(utc_offset.total_seconds()) if utc_offset else 0
            tz_label = now.tzname() or tz
        except (ZoneInfoNotFoundError, ValueError):
            offset, tz_label = 0, tz
        user: dict[str, Any] = {
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

    def _user_name(self, user_id: str) -> str:
        with self._cond:
            user = self._users.get(user_id)
        return user["name"] if user else f"user-{user_id.lower()}"

    def _users_info(self, request: ApiRequest) -> dict[str, Any]:
        user_id = request.params.get("user")
        with self._cond:
            user = self._users.get(str(user_id))
        if user is None:
            raise ApiError("user_not_found")
        user = json.loads(json.dumps(user))
        if not self._has_scope(request, "users:read.email") or user["profile"].get("email") is None:
            user["profile"].pop("email", None)
        return {"user": user}

    def _usergroups_users_list(self, request: ApiRequest) -> dict[str, Any]:
        group_id = request.params.get("usergroup")
        with self._cond:
            group = self._usergroups.get(str(group_id))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}
