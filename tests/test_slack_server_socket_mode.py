"""Tests for the Slack stand-in's Socket Mode endpoint, driven by slack_sdk's client and Bolt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.slack_clients import approval_blocks, bot_client, section
from tests.slack_server import (
    APP_ID,
    DEFAULT_APP_TOKEN,
    SlackTestServer,
    slack_server_fixture,  # noqa: F401 - registers the ``slack_server`` fixture
)
from tests.thread_states import wait_until


def close_socket_client(client: SocketModeClient) -> None:
    """``client.close()`` without its up-to-1 s wait: the message processor blocks on
    ``message_queue.get(timeout=1)`` until it sees ``closed``, so wake it first."""
    client.closed = True
    client.message_queue.put(None)  # type: ignore[arg-type]
    client.close()


@pytest.fixture
def socket_client(slack_server: SlackTestServer) -> Iterator[SocketModeClient]:
    """A connected builtin SocketModeClient that acks every envelope, echoing slash command text."""
    client = SocketModeClient(
        app_token=DEFAULT_APP_TOKEN,
        web_client=WebClient(base_url=slack_server.base_url),
        ping_interval=0.25,
    )

    def ack(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        payload = {"text": f"running {request.payload['text']}"} if request.type == "slash_commands" else None
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))

    client.socket_mode_request_listeners.append(ack)
    client.connect()
    slack_server.socket.wait_connected()
    try:
        yield client
    finally:
        close_socket_client(client)


# --------------------------------------------------------------------------------------------------
# Socket Mode


def test_socket_mode_slash_command_is_acked_with_a_payload(
    slack_server: SlackTestServer, socket_client: SocketModeClient
) -> None:
    envelope_id = slack_server.socket.send_slash_command("status QSECOFR", user_id="U7", channel_id="C0SECOPS")

    ack = slack_server.socket.wait_for_ack(envelope_id)

    assert ack == {"envelope_id": envelope_id, "payload": {"text": "running status QSECOFR"}}
    assert slack_server.socket.ack_delay(envelope_id) < 3
    [envelope] = slack_server.socket.sent
    assert envelope["type"] == "slash_commands"
    assert envelope["accepts_response_payload"] is True
    payload = envelope["payload"]
    assert list(payload) == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name", "command",
        "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]  # fmt: skip
    assert (payload["command"], payload["user_id"], payload["channel_id"]) == ("/ibmi", "U7", "C0SECOPS")
    assert payload["api_app_id"] == APP_ID
    assert payload["response_url"].startswith(slack_server.url + "response/")
    assert slack_server.calls_to("apps.connections.open")[0].token == DEFAULT_APP_TOKEN


def test_socket_mode_hello_is_sent_on_connect(slack_server: SlackTestServer) -> None:
    url = WebClient(base_url=slack_server.base_url).apps_connections_open(app_token=DEFAULT_APP_TOKEN)["url"]

    with ws_connect(url, open_timeout=2) as websocket:
        hello = json.loads(websocket.recv(timeout=2))

    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": APP_ID}
    assert hello["num_connections"] == 1
    assert set(hello["debug_info"]) == {"host", "build_number", "approximate_connection_time"}


def test_socket_mode_reconnects_after_disconnect_message(
    slack_server: SlackTestServer, socket_client: SocketModeClient
) -> None:
    slack_server.socket.send_disconnect("refresh_requested")

    slack_server.socket.wait_for_connections(2)
    envelope_id = slack_server.socket.send_slash_command("after refresh")

    assert slack_server.socket.wait_for_ack(envelope_id)["payload"] == {"text": "running after refresh"}
    assert len(slack_server.calls_to("apps.connections.open")) == 2
    wait_until(lambda: slack_server.socket.open_connections <= 1, timeout=30)  # the client closes the old connection
    assert slack_server.socket.open_connections == 1


def test_socket_mode_reconnects_after_slack_drops_the_socket(
    slack_server: SlackTestServer, socket_client: SocketModeClient
) -> None:
    slack_server.socket.disconnect_all()

    slack_server.socket.wait_for_connections(2)
    envelope_id = slack_server.socket.send_event({"type": "app_home_opened", "user": "U1", "tab": "home"})

    assert slack_server.socket.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}


def test_socket_mode_client_notices_a_vanished_connection(
    slack_server: SlackTestServer, socket_client: SocketModeClient
) -> None:
    slack_server.socket.disconnect_all(abrupt=True)

    # No close frame: the client only notices through its ping checks (4 x ping_interval).
    slack_server.socket.wait_for_connections(2, timeout=10)
    envelope_id = slack_server.socket.send_slash_command("still there?")

    assert slack_server.socket.wait_for_ack(envelope_id)["payload"] == {"text": "running still there?"}


def test_socket_mode_event_and_interactive_envelopes(
    slack_server: SlackTestServer, socket_client: SocketModeClient
) -> None:
    received: list[SocketModeRequest] = []
    socket_client.socket_mode_request_listeners.append(lambda _client, request: received.append(request))
    posted = bot_client(slack_server).chat_postMessage(channel="C1", text="Approve?", blocks=approval_blocks("R9"))

    event_id = slack_server.socket.send_event(
        {"type": "app_mention", "text": "hi"}, retry_attempt=1, retry_reason="timeout"
    )
    click_id = slack_server.socket.send_block_action("C1", posted["ts"], "approve", user_id="U2")
    slack_server.socket.wait_for_ack(event_id)
    slack_server.socket.wait_for_ack(click_id)

    # the client handles envelopes on a thread pool, so they may reach the listener in either order,
    # and after the ack (the acking listener runs first)
    wait_until(lambda: len(received) == 2)
    event, click = sorted(received, key=lambda request: request.type != "events_api")
    assert (event.type, event.retry_attempt, event.retry_reason) == ("events_api", 1, "timeout")
    assert event.payload["type"] == "event_callback"
    assert event.payload["event"]["type"] == "app_mention"
    assert event.payload["event_id"].startswith("Ev")
    assert click.type == "interactive"
    action = click.payload["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"]) == ("approve", "decide-R9", "R9")
    assert click.payload["container"] == {
        "type": "message", "message_ts": posted["ts"], "channel_id": "C1", "is_ephemeral": False,
    }  # fmt: skip
    assert click.payload["user"]["id"] == "U2"
    assert click.payload["message"]["ts"] == posted["ts"]

    with pytest.raises(AssertionError, match="no element with action_id"):
        slack_server.socket.send_block_action("C1", posted["ts"], "escalate")


def test_socket_mode_view_submission_of_an_open_modal(
    slack_server: SlackTestServer, socket_client: SocketModeClient
) -> None:
    received: list[SocketModeRequest] = []
    socket_client.socket_mode_request_listeners.append(lambda _client, request: received.append(request))
    trigger_id = parse_qs(slack_server.slash_command_form("fix"))["trigger_id"][0]
    modal = {
        "type": "modal",
        "callback_id": "fix-reason",
        "title": {"type": "plain_text", "text": "Reason"},
        "submit": {"type": "plain_text", "text": "Approve"},
        "private_metadata": "R1",
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }
    view = bot_client(slack_server).views_open(trigger_id=trigger_id, view=modal)["view"]
    values = {"reason": {"text": {"type": "plain_text_input", "value": "change ticket 42"}}}

    envelope_id = slack_server.socket.send_view_submission(view["id"], values, user_id="U3")
    slack_server.socket.wait_for_ack(envelope_id)

    wait_until(lambda: len(received) == 1)  # the acking listener runs before this test's listener
    [submission] = received
    assert submission.accepts_response_payload is True
    assert submission.payload["type"] == "view_submission"
    assert submission.payload["user"]["id"] == "U3"
    assert submission.payload["view"]["callback_id"] == "fix-reason"
    assert submission.payload["view"]["private_metadata"] == "R1"
    assert submission.payload["view"]["state"]["values"] == values


def test_socket_mode_rejects_unknown_tickets(slack_server: SlackTestServer) -> None:
    with pytest.raises(InvalidStatus):
        ws_connect(f"ws://127.0.0.1:{slack_server.socket.port}/link/?ticket=forged", open_timeout=2)


def test_wait_for_ack_reports_missing_acks(slack_server: SlackTestServer) -> None:
    with pytest.raises(AssertionError, match="no ack for envelope nope"):
        slack_server.socket.wait_for_ack("nope", timeout=0.05)


def test_bolt_app_over_socket_mode_end_to_end(slack_server: SlackTestServer) -> None:
    app = App(client=bot_client(slack_server))

    @app.command("/ibmi")
    def ibmi(ack, say, respond, command):  # type: ignore[no-untyped-def]
        ack(f"Checking {command['text']}...")
        say(text="Approval needed", blocks=approval_blocks("R1"))
        respond("Posted for approval")

    @app.action("approve")
    def approve(ack, body, client):  # type: ignore[no-untyped-def]
        ack()
        container = body["container"]
        client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text="Approved",
            blocks=[section(f"Approved by <@{body['user']['id']}>")],
        )

    handler = SocketModeHandler(app, app_token=DEFAULT_APP_TOKEN)
    handler.connect()
    try:
        slack_server.socket.wait_connected()
        envelope_id = slack_server.socket.send_slash_command("QSECOFR", channel_id="C0SECOPS")
        ack = slack_server.socket.wait_for_ack(envelope_id)
        [post] = slack_server.wait_for("chat.postMessage")
        [reply] = slack_server.wait_for_response()

        click_id = slack_server.socket.send_block_action("C0SECOPS", post.response["ts"], "approve")  # type: ignore[index]
        slack_server.socket.wait_for_ack(click_id)
        slack_server.wait_for("chat.update")
    finally:
        close_socket_client(handler.client)

    assert ack["payload"]["text"] == "Checking QSECOFR..."
    assert post.params["channel"] == "C0SECOPS"
    assert reply.body["text"] == "Posted for approval"
    message = slack_server.message("C0SECOPS", post.response["ts"])  # type: ignore[index]
    assert message is not None and message["text"] == "Approved"
    assert message["blocks"][0]["text"]["text"] == "Approved by <@U1>"
    assert slack_server.calls[0].method == "auth.test", "Bolt verifies the token first"
