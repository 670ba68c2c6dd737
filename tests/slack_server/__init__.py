"""A local stand-in for Slack: Web API, ``response_url`` webhooks and Socket Mode.

Slack cannot be reached from the test environment, so :class:`SlackTestServer` plays its part where
the bot can observe it:

* a real HTTP server answering the Web API methods the bot uses (``base_url`` ends in ``/api/`` so
  ``WebClient(base_url=...)`` works unchanged), with Slack's token, scope, channel and Block Kit
  checks, and fault injection (429 with ``Retry-After``, 5xx, dropped connections);
* ``response_url`` endpoints (:meth:`SlackTestServer.new_response_url`) that accept up to five posts
  like Slack's;
* a Socket Mode WebSocket endpoint (:attr:`SlackTestServer.socket`) handed out by
  ``apps.connections.open``, which greets clients with ``hello``, pushes envelopes built like Slack's
  and records the acknowledgements.

Every request is recorded so tests can assert on what the bot sent. Use it as a context manager::

    with SlackTestServer() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)

or through the ``slack_server`` pytest fixture (:func:`slack_server_fixture`).

The parts: ``server`` (the object and the fixture), ``web_api`` (tokens, recorded calls, faults) with
the method families ``api_chat``, ``api_conversations``, ``api_users`` and ``api_views``,
``block_kit`` (payload checks), ``response_url``, ``socket_mode``, ``signing`` (HTTP-mode requests as
Slack signs them), ``payloads`` (shared id shapes and payload pieces), ``http_server`` and
``identity`` (the workspace's fixed ids and tokens). Import from this package, not from the parts.
"""

from __future__ import annotations

from tests.slack_server.block_kit import MAX_MESSAGE_BLOCKS, MAX_MESSAGE_TEXT, MAX_VIEW_BLOCKS
from tests.slack_server.identity import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    BOT_USER_NAME,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_SCOPES,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    VERIFICATION_TOKEN,
)
from tests.slack_server.payloads import find_action
from tests.slack_server.response_url import RESPONSE_URL_LIFETIME, RESPONSE_URL_MAX_USES, ResponseCall
from tests.slack_server.server import SlackTestServer, slack_server_fixture
from tests.slack_server.signing import interactive_form, sign_request, slash_command_form
from tests.slack_server.socket_mode import SocketModeServer
from tests.slack_server.web_api import RecordedCall

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "BOT_USER_NAME",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_SCOPES",
    "MAX_MESSAGE_BLOCKS",
    "MAX_MESSAGE_TEXT",
    "MAX_VIEW_BLOCKS",
    "RESPONSE_URL_LIFETIME",
    "RESPONSE_URL_MAX_USES",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "VERIFICATION_TOKEN",
    "RecordedCall",
    "ResponseCall",
    "SlackTestServer",
    "SocketModeServer",
    "find_action",
    "interactive_form",
    "sign_request",
    "slack_server_fixture",
    "slash_command_form",
]
