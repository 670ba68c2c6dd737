"""Web API views: ``views.open`` (with Slack's single-use, short-lived ``trigger_id``), ``views.update``
and ``views.publish``, and the views as the server stores them."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.slack_server.block_kit import validate_view, with_block_ids
from tests.slack_server.http_server import ApiError, json_param
from tests.slack_server.identity import APP_ID, BOT_ID, TEAM_ID
from tests.slack_server.payloads import USER_ID, new_trigger_id, new_view_hash, random_id
from tests.slack_server.web_api import ApiRequest, WebApi


class ViewMethods(WebApi):
    """Modals and Home tabs, and the ``trigger_id`` values that may open them."""

    trigger_ttl: float | None
    _views: dict[str, dict[str, Any]]
    _home_views: dict[str, str]
    _triggers: dict[str, tuple[float, bool]]

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._cond:
            view = self._views.get(view_id)
            return json.loads(json.dumps(view)) if view is not None else None

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``."""
        with self._cond:
            view_id = self._home_views.get(user_id)
        return self.view(view_id) if view_id else None

    def _issue_trigger_id(self) -> str:
        trigger_id = new_trigger_id()
        self._register_trigger_id(trigger_id)
        return trigger_id

    def _register_trigger_id(self, trigger_id: str) -> None:
        with self._cond:
            self._triggers.setdefault(trigger_id, (time.time(), False))

    def _view_argument(self, request: ApiRequest, allowed_types: tuple[str, ...]) -> dict[str, Any]:
        view = json_param(request.params, "view", format_error="invalid_arguments")
        if view is None:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        errors = validate_view(view, allowed_types=allowed_types)
        if errors:
            raise ApiError("invalid_arguments", response_metadata={"messages": errors})
        return view

    def _store_view(
        self,
        view: dict[str, Any],
        view_id: str,
        *,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": with_block_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": new_view_hash(),
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        with self._cond:
            self._views[view_id] = stored
        return json.loads(json.dumps(stored))

    def _views_open(self, request: ApiRequest) -> dict[str, Any]:
        trigger_id = request.params.get("trigger_id")
        if not isinstance(trigger_id, str) or not trigger_id:
            raise ApiError("invalid_trigger_id")
        self._exchange_trigger(trigger_id)
        view = self._view_argument(request, ("modal",))
        return {"view": self._store_view(view, random_id("V"))}

    def _exchange_trigger(self, trigger_id: str) -> None:
        with self._cond:
            issued = self._triggers.get(trigger_id)
            if issued is None:
                return  # not issued here (e.g. copied from a fixture): accepted
            issued_at, used = issued
            if used:
                raise ApiError("exchanged_trigger_id")
            if self.trigger_ttl is not None and time.time() - issued_at > self.trigger_ttl:
                raise ApiError("expired_trigger_id")
            self._triggers[trigger_id] = (issued_at, True)

    def _views_update(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        with self._cond:
            if view_id:
                current = self._views.get(str(view_id))
            elif external_id:
                current = next((v for v in self._views.values() if v["external_id"] == external_id), None)
            else:
                raise ApiError(
                    "invalid_arguments",
                    response_metadata={"messages": ["[ERROR] view_id or external_id is required"]},
                )
        if current is None:
            raise ApiError("not_found")
        expected_hash = params.get("hash")
        if expected_hash and expected_hash != current["hash"]:
            raise ApiError("hash_conflict")
        view = self._view_argument(request, ("modal", "home"))
        return {"view": self._store_view(view, current["id"], root_view_id=current["root_view_id"])}

    def _views_publish(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        user_id = params.get("user_id")
        if not isinstance(user_id, str) or not USER_ID.match(user_id):
            raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] invalid user_id"]})
        view = self._view_argument(request, ("home",))
        with self._cond:
            view_id = self._home_views.get(user_id)
            current = self._views.get(view_id) if view_id else None
        expected_hash = params.get("hash")
        if current is not None and expected_hash and expected_hash != current["hash"]:
            raise ApiError("hash_conflict")
        view_id = view_id or random_id("V")
        stored = self._store_view(view, view_id)
        with self._cond:
            self._home_views[user_id] = view_id
        return {"view": stored}
