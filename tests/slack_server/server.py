"""The :class:`SlackTestServer` object composed of the Web API method families, ``response_url`` and
Socket Mode, with its lifecycle, the HTTP dispatch and the ``slack_server`` pytest fixture."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.slack_server.api_chat import ChatMethods
from tests.slack_server.api_users import UserMethods
from tests.slack_server.api_views import ViewMethods
from tests.slack_server.http_server import HttpServer, RequestHandler
from tests.slack_server.identity import BOT_USER_ID, BOT_USER_NAME, DEFAULT_APP_TOKEN, DEFAULT_BOT_TOKEN, DEFAULT_SCOPES
from tests.slack_server.response_url import ResponseUrls
from tests.slack_server.signing import slash_command_form
from tests.slack_server.socket_mode import SocketModeServer
from tests.slack_server.web_api import ApiRequest


class SlackTestServer(ChatMethods, UserMethods, ViewMethods, ResponseUrls):
    """Local Slack: Web API on ``base_url``, ``response_url`` endpoints and Socket Mode (``socket``).

    Args:
        bot_token / app_token: registered tokens (more with :meth:`add_token`).
        scopes: the bot token's scopes, comma-separated; sent as ``x-oauth-scopes`` and enforced per
            method (``missing_scope``) unless ``enforce_scopes`` is False.
        channels: if given, the only channel ids ``chat.*`` accept (plus those added with
            :meth:`add_channel` and DMs opened by the bot); otherwise any ``C…``/``G…``/``D…`` id.
        trigger_ttl: seconds a ``trigger_id`` issued by this server stays valid (Slack: 3).
        socket_ping_interval: seconds between WebSocket pings to Socket Mode clients (None: off).
    """

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        scopes: str = DEFAULT_SCOPES,
        channels: Iterable[str] | None = None,
        enforce_scopes: bool = True,
        trigger_ttl: float | None = 3.0,
        socket_ping_interval: float | None = 0.2,
        host: str = "127.0.0.1",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.enforce_scopes = enforce_scopes
        self.trigger_ttl = trigger_ttl
        self.host = host
        self._cond = threading.Condition()
        self._tokens = {}
        self._revoked = set()
        self.add_token(bot_token, "bot", scopes)
        self.add_token(app_token, "app", "connections:write")
        self._known_channels = set(channels) if channels is not None else None
        self._channels = {}
        self._users = {}
        self._usergroups = {}
        self._dms = {}
        self._calls = []
        self._faults = {}
        self._latency = {}
        self._holding = False
        self._holding_channel = None
        self._holding_method = None
        self._held = 0
        self._response_urls = {}
        self._responses = []
        self._messages = {}
        self._views = {}
        self._home_views = {}
        self._triggers = {}
        self._last_ts_us = 0
        self._http = None
        self._http_thread: threading.Thread | None = None
        self.socket = SocketModeServer(self, host, ping_interval=socket_ping_interval)
        self.add_user(BOT_USER_ID, name=BOT_USER_NAME, real_name=BOT_USER_NAME, is_bot=True)

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> SlackTestServer:
        if self._http is not None:
            return self
        self._http = HttpServer(self, self.host)
        # A short poll interval keeps shutdown() quick (the default waits up to 0.5 s).
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-web-api", daemon=True
        )
        self._http_thread.start()
        self.socket._start()
        return self

    def stop(self) -> None:
        self.socket._stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
            self._http_thread = None

    def __enter__(self) -> SlackTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # recording -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget recorded calls, responses, Socket Mode traffic and pending faults (not the state)."""
        with self._cond:
            self._calls.clear()
            self._responses.clear()
            self._faults.clear()
        with self.socket._cond:
            self.socket._sent.clear()
            self.socket._sent_at.clear()
            self.socket._received.clear()
            self.socket._acks.clear()
            self.socket._ack_at.clear()

    # HTTP-mode requests ----------------------------------------------------------------------
    def slash_command_form(
        self,
        text: str,
        command: str = "/ibmi",
        user_id: str = "U1",
        channel_id: str = "C1",
        response_url: str | None = None,
    ) -> str:
        """:func:`slash_command_form` with a response URL and trigger id served by this server."""
        return slash_command_form(
            text,
            command,
            user_id,
            channel_id,
            response_url or self.new_response_url(),
            user_name=self._user_name(user_id),
            channel_name=self._channel_name(channel_id),
            trigger_id=self._issue_trigger_id(),
        )

    # HTTP dispatch ---------------------------------------------------------------------------
    def _dispatch(self, handler: RequestHandler) -> None:
        path = urlsplit(handler.path).path
        raw = handler.read_body()
        if path.startswith("/api/"):
            self._handle_api(handler, path[len("/api/") :], raw)
        elif path.startswith("/response/"):
            self._handle_response_url(handler, path[len("/response/") :].strip("/"), raw)
        else:
            handler.send_body(HTTPStatus.NOT_FOUND, b"Not Found\n", "text/plain")

    def _method_handlers(self) -> dict[str, Callable[[ApiRequest], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "apps.connections.open": self._apps_connections_open,
        }

    def _apps_connections_open(self, request: ApiRequest) -> dict[str, Any]:
        return {"url": self.socket._new_url()}


@pytest.fixture(name="slack_server")
def slack_server_fixture() -> Iterator[SlackTestServer]:
    """A running :class:`SlackTestServer` per test (fixture name ``slack_server``)."""
    with SlackTestServer() as server:
        yield server
