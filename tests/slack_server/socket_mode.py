"""Socket Mode: the WebSocket endpoint ``apps.connections.open`` hands out, which greets clients with
``hello``, pushes envelopes built like Slack's and records the acknowledgements."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import struct
import threading
import time
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from websockets.sync.server import Server, ServerConnection, serve

from tests.slack_server.identity import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, VERIFICATION_TOKEN
from tests.slack_server.payloads import find_action, new_envelope_id, random_id, slash_command_payload


class SlackWorkspace(Protocol):
    """What the Socket Mode side needs from the rest of the server to build payloads."""

    def new_response_url(self) -> str: ...

    def message(self, channel: str, ts: str) -> dict[str, Any] | None: ...

    def view(self, view_id: str) -> dict[str, Any] | None: ...

    def _user_name(self, user_id: str) -> str: ...

    def _channel_name(self, channel_id: str) -> str: ...

    def _issue_trigger_id(self) -> str: ...

    def _register_trigger_id(self, trigger_id: str) -> None: ...


class SocketModeServer:
    """The Socket Mode side of :class:`SlackTestServer` (``slack.socket``).

    ``apps.connections.open`` hands out ``ws://127.0.0.1:PORT/link/?ticket=...`` URLs; on connect
    the server sends Slack's ``hello``. ``send_*`` push an envelope to the newest open connection
    (waiting up to ``connect_timeout`` seconds for one) and return its ``envelope_id``; everything
    the client sends back is recorded (``received``), acknowledgements also in ``acks``.
    """

    def __init__(
        self, owner: SlackWorkspace, host: str, connect_timeout: float = 5.0, ping_interval: float | None = 0.2
    ) -> None:
        self._owner = owner
        self._host = host
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []
        self._connections_opened = 0
        self._sent: list[dict[str, Any]] = []
        self._sent_at: dict[str, float] = {}
        self._received: list[dict[str, Any]] = []
        self._acks: list[dict[str, Any]] = []
        self._ack_at: dict[str, float] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # lifecycle -------------------------------------------------------------------------------
    def _start(self) -> None:
        self._server = serve(
            self._handle,
            self._host,
            0,
            process_request=self._check_ticket,
            compression=None,
            close_timeout=1,
            # Like Slack, ping the client. Frequent pings also wake the builtin SocketModeClient's
            # blocking recv (3 s timeout), so it notices its own close() and reconnects promptly.
            ping_interval=self.ping_interval,
            ping_timeout=20,
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-socket-mode", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _new_url(self) -> str:
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://{self._host}:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    def _check_ticket(self, connection: ServerConnection, request: Any) -> Any:
        parts = urlsplit(request.path)
        ticket = dict(parse_qsl(parts.query)).get("ticket")
        with self._cond:
            known = ticket in self._tickets
        if parts.path.rstrip("/") != "/link" or not known:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
        return None

    def _handle(self, connection: ServerConnection) -> None:
        with self._cond:
            self._connections.append(connection)
            self._connections_opened += 1
            count = len(self._connections)
        try:
            connection.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": count,
                        "debug_info": {
                            "host": "applink-warden-test",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": APP_ID},
                    }
                )
            )
            with self._cond:
                self._cond.notify_all()
            for raw in connection:
                self._record(raw)
        except Exception:  # a broken client connection just ends the session
            pass
        finally:
            with self._cond:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._cond.notify_all()

    def _record(self, raw: str | bytes) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = {"raw": text}
        if not isinstance(message, dict):
            message = {"raw": text}
        now = time.time()
        with self._cond:
            self._received.append(message)
            envelope_id = message.get("envelope_id")
            if envelope_id:
                self._acks.append(message)
                self._ack_at.setdefault(envelope_id, now)
            self._cond.notify_all()

    # state -----------------------------------------------------------------------------------
    @property
    def open_connections(self) -> int:
        with self._cond:
            return len(self._connections)

    @property
    def connections_opened(self) -> int:
        """How many WebSocket connections were accepted in total (reconnects included)."""
        with self._cond:
            return self._connections_opened

    @property
    def acks(self) -> list[dict[str, Any]]:
        """Messages from the client carrying an ``envelope_id`` (``{"envelope_id", "payload"?}``)."""
        with self._cond:
            return list(self._acks)

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every text message the client sent (non-JSON ones as ``{"raw": ...}``)."""
        with self._cond:
            return list(self._received)

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every envelope pushed to the client, in order."""
        with self._cond:
            return list(self._sent)

    def wait_connected(self, timeout: float = 5.0) -> None:
        """Wait until at least one client connection is open (and has been sent ``hello``)."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._connections), timeout):
                raise AssertionError(f"no Socket Mode connection within {timeout}s")

    def wait_for_connections(self, total: int, timeout: float = 5.0) -> None:
        """Wait until ``total`` connections were accepted since start (for reconnect tests)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._connections_opened >= total and bool(self._connections), timeout):
                raise AssertionError(
                    f"expected {total} Socket Mode connections within {timeout}s, "
                    f"saw {self._connections_opened} (open now: {len(self._connections)})"
                )

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The client's acknowledgement of ``envelope_id``: ``{"envelope_id": ..., "payload"?: {...}}``."""

        def find() -> dict[str, Any] | None:
            return next((a for a in self._acks if a.get("envelope_id") == envelope_id), None)

        with self._cond:
            if not self._cond.wait_for(lambda: find() is not None, timeout):
                raise AssertionError(
                    f"no ack for envelope {envelope_id} within {timeout}s; acks received: {self._acks}"
                )
            ack = find()
            assert ack is not None
            return ack

    def ack_delay(self, envelope_id: str) -> float:
        """Seconds between sending an envelope and its first ack (Slack wants < 3 s)."""
        with self._cond:
            if envelope_id not in self._ack_at:
                raise AssertionError(f"envelope {envelope_id} was not acknowledged")
            return self._ack_at[envelope_id] - self._sent_at[envelope_id]

    # sending ---------------------------------------------------------------------------------
    def _newest_connection(self) -> ServerConnection:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._connections), self.connect_timeout):
                raise AssertionError(f"no Socket Mode client connected within {self.connect_timeout}s")
            return self._connections[-1]

    def send_envelope(self, envelope: dict[str, Any]) -> str:
        """Send a raw envelope (an ``envelope_id`` is added if missing); returns the envelope id."""
        envelope = dict(envelope)
        envelope_id = envelope.setdefault("envelope_id", new_envelope_id())
        connection = self._newest_connection()
        with self._cond:
            self._sent.append(envelope)
            self._sent_at[envelope_id] = time.time()
        connection.send(json.dumps(envelope))
        return envelope_id

    def send_message(self, message: dict[str, Any]) -> None:
        """Send any JSON message (no envelope), e.g. ``{"type": "disconnect", ...}``."""
        self._newest_connection().send(json.dumps(message))

    def send_slash_command(
        self,
        text: str,
        command: str = "/ibmi",
        user_id: str = "U1",
        channel_id: str = "C1",
        response_url: str | None = None,
        *,
        user_name: str | None = None,
        channel_name: str | None = None,
        trigger_id: str | None = None,
    ) -> str:
        """Deliver a ``slash_commands`` envelope as Slack does; returns its ``envelope_id``.

        ``response_url`` defaults to a fresh :meth:`SlackTestServer.new_response_url`, and the
        ``trigger_id`` is registered so ``views.open`` enforces Slack's 3 s / single-use rule.
        """
        owner = self._owner
        payload = slash_command_payload(
            text=text,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url or owner.new_response_url(),
            user_name=user_name or owner._user_name(user_id),
            channel_name=channel_name or owner._channel_name(channel_id),
            trigger_id=trigger_id or owner._issue_trigger_id(),
        )
        return self.send_envelope(
            {
                "envelope_id": new_envelope_id(),
                "payload": payload,
                "type": "slash_commands",
                "accepts_response_payload": True,
            }
        )

    def send_interactive(self, payload: dict[str, Any], accepts_response_payload: bool | None = None) -> str:
        """Deliver an ``interactive`` envelope (block_actions, view_submission, shortcut ...).

        ``accepts_response_payload`` defaults to True for ``block_actions`` (as in Slack's Socket
        Mode docs), ``view_submission`` and ``block_suggestion``, False for shortcuts and
        ``view_closed``. A ``trigger_id`` in the payload is registered for ``views.open``.
        """
        if accepts_response_payload is None:
            accepts_response_payload = payload.get("type") in (
                "block_actions",
                "view_submission",
                "block_suggestion",
            )
        if payload.get("trigger_id"):
            self._owner._register_trigger_id(payload["trigger_id"])
        return self.send_envelope(
            {
                "envelope_id": new_envelope_id(),
                "payload": payload,
                "type": "interactive",
                "accepts_response_payload": accepts_response_payload,
            }
        )

    def send_block_action(
        self,
        channel: str,
        message_ts: str,
        action_id: str,
        user_id: str = "U1",
        *,
        block_id: str | None = None,
        response_url: str | None = None,
    ) -> str:
        """Click the button ``action_id`` on a message the bot posted, as a user would.

        The message must exist on the server (posted with ``chat.postMessage`` or edited with
        ``chat.update``) and contain that button; the ``block_actions`` payload carries the
        message, its container, the channel, a new ``response_url`` and ``trigger_id``.
        """
        owner = self._owner
        message = owner.message(channel, message_ts)
        if message is None:
            raise AssertionError(f"no message {message_ts} in {channel}; a user could not click on it")
        found = find_action(message.get("blocks") or [], action_id, block_id)
        if found is None:
            raise AssertionError(f"message {message_ts} in {channel} has no element with action_id {action_id!r}")
        block, element = found
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block["block_id"],
            "type": element.get("type"),
            "action_ts": f"{time.time():.6f}",
        }
        for key in ("text", "value", "style"):
            if key in element:
                action[key] = element[key]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {
                "id": user_id,
                "username": owner._user_name(user_id),
                "name": owner._user_name(user_id),
                "team_id": TEAM_ID,
            },
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": message["channel"],
                "is_ephemeral": False,
            },
            "trigger_id": owner._issue_trigger_id(),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message["channel"], "name": owner._channel_name(message["channel"])},
            "message": {k: v for k, v in message.items() if k != "channel"},
            "state": {"values": {}},
            "response_url": response_url or owner.new_response_url(),
            "actions": [action],
        }
        return self.send_interactive(payload)

    def send_view_submission(
        self, view_id: str, values: dict[str, dict[str, dict[str, Any]]], user_id: str = "U1"
    ) -> str:
        """Submit an open modal: ``values`` is ``view.state.values`` (block_id → action_id → value)."""
        owner = self._owner
        view = owner.view(view_id)
        if view is None:
            raise AssertionError(f"no open view {view_id}")
        submitted = dict(view, state={"values": values})
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": {
                "id": user_id,
                "username": owner._user_name(user_id),
                "name": owner._user_name(user_id),
                "team_id": TEAM_ID,
            },
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": owner._issue_trigger_id(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.send_interactive(payload)

    def send_event(
        self,
        event: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        event_id: str | None = None,
        event_time: int | None = None,
    ) -> str:
        """Deliver an ``events_api`` envelope wrapping ``event`` in an ``event_callback`` payload."""
        event_type = event.get("type", "event")
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "context_team_id": TEAM_ID,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or random_id("Ev"),
            "event_time": event_time if event_time is not None else int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{event_type}-{TEAM_ID}-{secrets.token_hex(6)}",
        }
        return self.send_envelope(
            {
                "envelope_id": new_envelope_id(),
                "payload": payload,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": retry_attempt,
                "retry_reason": retry_reason,
            }
        )

    def send_disconnect(self, reason: str = "warning") -> None:
        """Send Slack's ``{"type": "disconnect"}`` notice to every connection.

        Slack's reasons: ``warning`` (about 10 s before a refresh), ``refresh_requested``,
        ``link_disabled``.
        """
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-warden-test"}}
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.send(json.dumps(message))

    def disconnect_all(self, code: int = 1001, reason: str = "", *, abrupt: bool = False) -> None:
        """Drop every client connection: a WebSocket close frame, or with ``abrupt`` a bare TCP reset.

        After an abrupt drop the client only notices through its own ping checks
        (``ping_interval``), just as with a real network failure.
        """
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(Exception):
                if abrupt:
                    # Linger 0 turns the close into a TCP reset; shutting down the read side wakes
                    # the connection's receiving thread, which then closes the socket.
                    connection.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    connection.socket.shutdown(socket.SHUT_RD)
                else:
                    connection.close(code, reason)
