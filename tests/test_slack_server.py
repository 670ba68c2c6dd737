"""Tests for the local Slack stand-in, driven by the real slack_sdk and slack_bolt clients."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.slack_server import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_SCOPES,
    TEAM_ID,
    SlackTestServer,
    interactive_form,
    sign_request,
    slack_server_fixture,  # noqa: F401 - registers the ``slack_server`` fixture
    slash_command_form,
)

FAST_RETRY = FixedValueRetryIntervalCalculator(0.01)

# Slack's request-signing worked example (also in the shared Slack fixtures as
# signature_test_vector.slack-docs.json).
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SIGNED_TIMESTAMP = 1531420618
SIGNED_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def bot_client(slack: SlackTestServer, **kwargs: object) -> WebClient:
    kwargs.setdefault("retry_handlers", [])
    return WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.base_url, **kwargs)  # type: ignore[arg-type]


def section(text: str, block_id: str | None = None) -> dict[str, object]:
    block: dict[str, object] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def approval_blocks(request_id: str) -> list[dict[str, object]]:
    return [
        section(f"Request *{request_id}*: enable QSECOFR"),
        {
            "type": "actions",
            "block_id": f"decide-{request_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": request_id,
                },
                {
                    "type": "button",
                    "action_id": "reject",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "style": "danger",
                    "value": request_id,
                },
            ],
        },
    ]


def post_form(url: str, body: str) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


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

    def ack(client: SocketModeClient, request: SocketModeRequest) -> None:
        payload = {"text": f"running {request.payload['text']}"} if request.type == "slash_commands" else None
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))

    client.socket_mode_request_listeners.append(ack)
    client.connect()
    slack_server.socket.wait_connected()
    try:
        yield client
    finally:
        close_socket_client(client)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


# --------------------------------------------------------------------------------------------------
# Web API basics


def test_auth_test_returns_the_bot_identity_and_scopes_header(slack_server: SlackTestServer) -> None:
    response = bot_client(slack_server).auth_test()

    assert response["team_id"] == TEAM_ID
    assert response["user_id"] == BOT_USER_ID
    assert response["bot_id"] == BOT_ID
    assert response["team"] == "Warden Test"
    assert response["user"] == "ibmi-warden"
    assert response.headers["x-oauth-scopes"] == DEFAULT_SCOPES
    [call] = slack_server.calls_to("auth.test")
    assert call.token == DEFAULT_BOT_TOKEN
    assert call.headers["authorization"] == f"Bearer {DEFAULT_BOT_TOKEN}"


def test_scopes_are_configurable() -> None:
    with SlackTestServer(scopes="chat:write,commands") as slack:
        assert bot_client(slack).auth_test().headers["x-oauth-scopes"] == "chat:write,commands"


def test_unknown_or_missing_tokens_are_rejected(slack_server: SlackTestServer) -> None:
    with pytest.raises(SlackApiError) as unknown:
        WebClient(token="xoxb-not-registered", base_url=slack_server.base_url).auth_test()
    assert unknown.value.response.status_code == 200
    assert unknown.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack_server.base_url).auth_test()
    assert missing.value.response["error"] == "not_authed"

    slack_server.revoke_token(DEFAULT_BOT_TOKEN)
    with pytest.raises(SlackApiError) as revoked:
        bot_client(slack_server).auth_test()
    assert revoked.value.response["error"] == "token_revoked"


def test_token_may_come_from_a_form_field(slack_server: SlackTestServer) -> None:
    body = post_form(slack_server.base_url + "auth.test", f"token={DEFAULT_BOT_TOKEN}")

    assert body["ok"] is True
    assert slack_server.calls_to("auth.test")[0].token == DEFAULT_BOT_TOKEN


def test_app_and_bot_tokens_are_not_interchangeable(slack_server: SlackTestServer) -> None:
    with pytest.raises(SlackApiError) as bot_on_socket:
        bot_client(slack_server).apps_connections_open(app_token=DEFAULT_BOT_TOKEN)
    assert bot_on_socket.value.response["error"] == "not_allowed_token_type"

    with pytest.raises(SlackApiError) as app_on_chat:
        WebClient(token=DEFAULT_APP_TOKEN, base_url=slack_server.base_url).chat_postMessage(channel="C1", text="x")
    assert app_on_chat.value.response["error"] == "not_allowed_token_type"

    url = WebClient(base_url=slack_server.base_url).apps_connections_open(app_token=DEFAULT_APP_TOKEN)["url"]
    assert url.startswith(f"ws://127.0.0.1:{slack_server.socket.port}/link/?ticket=")


def test_unknown_method_is_an_api_error(slack_server: SlackTestServer) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        bot_client(slack_server).api_call("chat.postMesage", json={"channel": "C1", "text": "typo"})

    assert excinfo.value.response["error"] == "unknown_method"
    assert slack_server.calls_to("chat.postMesage")[0].error == "unknown_method"


def test_missing_scope_is_reported_like_slack(slack_server: SlackTestServer) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        bot_client(slack_server).conversations_info(channel="C1")

    assert excinfo.value.response["error"] == "missing_scope"
    assert excinfo.value.response["needed"] == "channels:read"

    with SlackTestServer(scopes=DEFAULT_SCOPES + ",channels:read") as slack:
        slack.add_channel("C0SECOPS", name="secops")
        channel = bot_client(slack).conversations_info(channel="C0SECOPS")["channel"]
        assert channel["name"] == "secops"
        assert channel["is_member"] is True


# --------------------------------------------------------------------------------------------------
# Messages


def test_post_update_and_thread_flow(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)

    posted = client.chat_postMessage(channel="C0SECOPS", text="Approval needed", blocks=approval_blocks("R1"))
    reply = client.chat_postMessage(channel="C0SECOPS", thread_ts=posted["ts"], text="Audit trail")
    updated = client.chat_update(
        channel="C0SECOPS", ts=posted["ts"], text="Approved by <@U1>", blocks=[section("Approved")]
    )

    assert posted["channel"] == "C0SECOPS"
    assert posted["message"]["bot_id"] == BOT_ID
    assert posted["message"]["blocks"][1]["block_id"] == "decide-R1"
    assert posted["message"]["blocks"][0]["block_id"], "Slack fills in missing block ids"
    assert float(reply["ts"]) > float(posted["ts"])
    assert reply["message"]["thread_ts"] == posted["ts"]
    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "Approved by <@U1>"

    stored = slack_server.message("C0SECOPS", posted["ts"])
    assert stored is not None
    assert stored["text"] == "Approved by <@U1>"
    assert [b["type"] for b in stored["blocks"]] == ["section"]
    assert stored["reply_count"] == 1
    assert [m["text"] for m in slack_server.replies("C0SECOPS", posted["ts"])] == ["Audit trail"]

    [post_call, reply_call] = slack_server.wait_for("chat.postMessage", count=2)
    assert post_call.params["channel"] == "C0SECOPS"
    assert reply_call.params["thread_ts"] == posted["ts"]


def test_timestamps_are_unique_and_increasing(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)
    stamps = [client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(5)]

    assert len(set(stamps)) == 5
    assert stamps == sorted(stamps, key=float)
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C1"}, "no_text"),
        ({"channel": "C1", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C1", "blocks": [section(str(n)) for n in range(51)]}, "invalid_blocks"),
        ({"channel": "C1", "blocks": [{"type": "no_such_block"}]}, "invalid_blocks"),
        ({"channel": "not-a-channel", "text": "x"}, "channel_not_found"),
    ],
)
def test_post_message_validation(slack_server: SlackTestServer, kwargs: dict[str, object], error: str) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        bot_client(slack_server).chat_postMessage(**kwargs)  # type: ignore[arg-type]

    assert excinfo.value.response["error"] == error


def test_block_kit_limits_are_enforced_on_plain_dicts(slack_server: SlackTestServer) -> None:
    blocks = approval_blocks("R1")
    blocks[1]["elements"][0]["text"]["text"] = "A" * 76  # type: ignore[index]

    with pytest.raises(SlackApiError) as excinfo:
        bot_client(slack_server).chat_postMessage(channel="C1", text="x", blocks=blocks)

    assert excinfo.value.response["error"] == "invalid_blocks"
    assert excinfo.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 76 characters [json-pointer:/blocks/1/elements/0/text/text]"
    ]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_exactly_fifty_blocks_and_forty_thousand_chars_are_accepted(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)

    assert client.chat_postMessage(channel="C1", blocks=[section(str(n)) for n in range(50)])["ok"]
    assert client.chat_postMessage(channel="C1", text="x" * 40_000)["ok"]


def test_form_bodies_with_json_encoded_blocks_are_accepted(slack_server: SlackTestServer) -> None:
    response = bot_client(slack_server).api_call(
        "chat.postMessage", params={"channel": "C1", "blocks": json.dumps([section("from a form")])}
    )

    assert response["message"]["blocks"][0]["text"]["text"] == "from a form"
    [call] = slack_server.calls_to("chat.postMessage")
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert isinstance(call.params["blocks"], str)


def test_known_channel_set_restricts_posting() -> None:
    with SlackTestServer(channels={"C0SECOPS"}) as slack:
        client = bot_client(slack)
        assert client.chat_postMessage(channel="C0SECOPS", text="ok")["ok"]
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C0OTHER", text="nope")
        assert excinfo.value.response["error"] == "channel_not_found"

        dm = client.conversations_open(users="U1")["channel"]["id"]
        assert client.chat_postMessage(channel=dm, text="direct")["channel"] == dm


def test_public_channel_without_membership_needs_chat_write_public(slack_server: SlackTestServer) -> None:
    slack_server.add_channel("C0GENERAL", name="general", is_member=False)

    with pytest.raises(SlackApiError) as excinfo:
        bot_client(slack_server).chat_postMessage(channel="C0GENERAL", text="hello")

    assert excinfo.value.response["error"] == "not_in_channel"


def test_update_delete_and_ephemeral(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)

    with pytest.raises(SlackApiError) as unknown:
        client.chat_update(channel="C1", ts="1700000000.000100", text="x")
    assert unknown.value.response["error"] == "message_not_found"

    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert ephemeral["message_ts"]
    with pytest.raises(SlackApiError) as not_editable:
        client.chat_update(channel="C1", ts=ephemeral["message_ts"], text="x")
    assert not_editable.value.response["error"] == "message_not_found"

    posted = client.chat_postMessage(channel="C1", text="temporary")
    assert client.chat_delete(channel="C1", ts=posted["ts"])["ok"]
    assert slack_server.message("C1", posted["ts"]) is None


def test_posting_to_a_user_id_goes_to_the_dm(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)

    opened = client.conversations_open(users="U1")
    posted = client.chat_postMessage(channel="U1", text="hi")
    again = client.conversations_open(users="U1")

    assert opened["channel"]["id"].startswith("D")
    assert posted["channel"] == opened["channel"]["id"]
    assert again["already_open"] is True


# --------------------------------------------------------------------------------------------------
# Views, users, groups


def test_views_open_update_and_publish(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)
    trigger_id = parse_qs(slack_server.slash_command_form("fix"))["trigger_id"][0]
    modal = {
        "type": "modal",
        "callback_id": "fix-confirm",
        "title": {"type": "plain_text", "text": "Confirm fix"},
        "submit": {"type": "plain_text", "text": "Run"},
        "blocks": [section("Run CHGOBJOWN?")],
        "private_metadata": "R1",
    }

    opened = client.views_open(trigger_id=trigger_id, view=modal)["view"]
    assert opened["id"].startswith("V")
    assert opened["private_metadata"] == "R1"

    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger_id, view=modal)
    assert reused.value.response["error"] == "exchanged_trigger_id"

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)["view"]
    assert updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert stale.value.response["error"] == "hash_conflict"

    home = client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("Open requests: 0")]})
    assert slack_server.home_view("U1")["id"] == home["view"]["id"]  # type: ignore[index]


def test_views_validation(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)
    too_many = {"type": "home", "blocks": [section(str(n)) for n in range(101)]}

    with pytest.raises(SlackApiError) as empty_trigger:
        client.views_open(trigger_id="", view={"type": "modal"})
    assert empty_trigger.value.response["error"] == "invalid_trigger_id"

    with pytest.raises(SlackApiError) as blocks:
        client.views_publish(user_id="U1", view=too_many)
    assert blocks.value.response["error"] == "invalid_arguments"
    assert "no more than 100 items" in blocks.value.response["response_metadata"]["messages"][0]

    long_title = {"type": "modal", "title": {"type": "plain_text", "text": "T" * 25}, "blocks": []}
    with pytest.raises(SlackApiError) as title:
        client.views_open(trigger_id="1.2.abc", view=long_title)
    assert title.value.response["error"] == "invalid_arguments"

    assert client.views_publish(user_id="U1", view={**too_many, "blocks": too_many["blocks"][:100]})["ok"]


def test_expired_trigger_id() -> None:
    with SlackTestServer(trigger_ttl=0.05) as slack:
        form = parse_qs(slack.slash_command_form("fix"))
        time.sleep(0.1)
        with pytest.raises(SlackApiError) as excinfo:
            bot_client(slack).views_open(
                trigger_id=form["trigger_id"][0],
                view={"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []},
            )
        assert excinfo.value.response["error"] == "expired_trigger_id"


def test_users_and_usergroups(slack_server: SlackTestServer) -> None:
    slack_server.add_user("U1", name="alice", tz="Europe/Berlin", email="alice@example.com")
    slack_server.add_usergroup("S1", handle="secops", users=["U1", "U2"])
    client = bot_client(slack_server)

    user = client.users_info(user="U1")["user"]
    assert user["name"] == "alice"
    assert user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] in (3600, 7200)
    assert "email" not in user["profile"], "email needs users:read.email"
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]

    with pytest.raises(SlackApiError) as no_user:
        client.users_info(user="U404")
    assert no_user.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as no_group:
        client.usergroups_users_list(usergroup="S404")
    assert no_group.value.response["error"] == "no_such_subteam"

    with SlackTestServer(scopes=DEFAULT_SCOPES + ",users:read.email") as slack:
        slack.add_user("U1", email="alice@example.com")
        assert bot_client(slack).users_info(user="U1")["user"]["profile"]["email"] == "alice@example.com"


# --------------------------------------------------------------------------------------------------
# Fault injection and slack_sdk's retry handlers


def test_rate_limit_is_retried_after_retry_after(
    slack_server: SlackTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RateLimitErrorRetryHandler sleeps int(Retry-After) + random.random(); make the jitter zero.
    monkeypatch.setattr(random, "random", lambda: 0.0)
    slack_server.fail_next("chat.postMessage", status=429, retry_after=1)
    client = bot_client(slack_server, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    started = time.monotonic()
    response = client.chat_postMessage(channel="C1", text="after the limit")
    elapsed = time.monotonic() - started

    assert response["ok"] is True
    limited, accepted = slack_server.calls_to("chat.postMessage")
    assert (limited.status, limited.fault, limited.error) == (429, "429", "ratelimited")
    assert accepted.ok and not accepted.faulted
    assert elapsed >= 1.0


def test_rate_limit_without_a_handler_raises_with_retry_after(slack_server: SlackTestServer) -> None:
    slack_server.fail_next("chat.postMessage", status=429, retry_after=30)

    with pytest.raises(SlackApiError) as excinfo:
        bot_client(slack_server).chat_postMessage(channel="C1", text="x")

    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response["error"] == "ratelimited"
    assert excinfo.value.response.headers["Retry-After"] == "30"


@pytest.mark.parametrize(("status", "error"), [(500, "internal_error"), (503, "service_unavailable")])
def test_server_errors_are_retried_by_server_error_handler(
    slack_server: SlackTestServer, status: int, error: str
) -> None:
    slack_server.fail_next("chat.update", status=status)
    client = bot_client(
        slack_server, retry_handlers=[ServerErrorRetryHandler(max_retry_count=1, interval_calculator=FAST_RETRY)]
    )
    posted = client.chat_postMessage(channel="C1", text="x")

    assert client.chat_update(channel="C1", ts=posted["ts"], text="y")["ok"]
    failed, succeeded = slack_server.calls_to("chat.update")
    assert (failed.status, failed.error) == (status, error)
    assert succeeded.ok


def test_server_error_without_a_handler_raises(slack_server: SlackTestServer) -> None:
    slack_server.fail_next("auth.test", status=500, times=2)
    client = bot_client(
        slack_server, retry_handlers=[ServerErrorRetryHandler(max_retry_count=1, interval_calculator=FAST_RETRY)]
    )

    with pytest.raises(SlackApiError) as excinfo:
        client.auth_test()

    assert excinfo.value.response.status_code == 500
    assert len(slack_server.calls_to("auth.test")) == 2


def test_dropped_connection_is_retried_by_connection_error_handler(slack_server: SlackTestServer) -> None:
    slack_server.drop_next("chat.postMessage")
    client = bot_client(
        slack_server, retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=FAST_RETRY)]
    )

    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    dropped, delivered = slack_server.calls_to("chat.postMessage")
    assert (dropped.fault, dropped.status, dropped.response) == ("drop", None, None)
    assert delivered.ok


def test_dropped_connection_without_a_handler_raises(slack_server: SlackTestServer) -> None:
    slack_server.drop_next("auth.test")

    with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected
        bot_client(slack_server).auth_test()


def test_injected_api_error(slack_server: SlackTestServer) -> None:
    slack_server.fail_next("chat.postMessage", status=200, error="is_archived")
    client = bot_client(slack_server)

    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="x")

    assert excinfo.value.response["error"] == "is_archived"
    assert client.chat_postMessage(channel="C1", text="x")["ok"], "only the next call fails"


def test_wait_for_reports_what_was_received(slack_server: SlackTestServer) -> None:
    bot_client(slack_server).auth_test()

    with pytest.raises(AssertionError, match=r"got 0; received: \['auth.test\(ok\)'\]"):
        slack_server.wait_for("chat.postMessage", timeout=0.05)


def test_wait_for_sees_calls_from_other_threads(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)
    threading.Timer(0.05, lambda: client.chat_postMessage(channel="C1", text="later")).start()

    [call] = slack_server.wait_for("chat.postMessage", timeout=2)

    assert call.params["text"] == "later"


def test_reset_forgets_recordings_and_faults(slack_server: SlackTestServer) -> None:
    client = bot_client(slack_server)
    client.auth_test()
    slack_server.fail_next("auth.test", status=500)

    slack_server.reset()

    assert slack_server.calls == []
    assert client.auth_test()["ok"]


# --------------------------------------------------------------------------------------------------
# response_url


def test_webhook_client_posts_to_response_url(slack_server: SlackTestServer) -> None:
    url = slack_server.new_response_url()

    response = WebhookClient(url).send(text="Done", response_type="in_channel")

    assert (response.status_code, response.body) == (200, "ok")
    [recorded] = slack_server.wait_for_response()
    assert recorded.body == {"text": "Done", "response_type": "in_channel"}
    assert slack_server.responses(url) == [recorded]


def test_response_url_allows_five_uses(slack_server: SlackTestServer) -> None:
    webhook = WebhookClient(slack_server.new_response_url())

    statuses = [webhook.send(text=f"update {n}").status_code for n in range(6)]

    assert statuses == [200] * 5 + [404]
    assert json.loads(webhook.send(text="again").body)["error"] == "used_url"


def test_response_url_expiry_and_empty_message(slack_server: SlackTestServer) -> None:
    url = slack_server.new_response_url()
    webhook = WebhookClient(url)

    assert webhook.send_dict({"replace_original": True}).status_code == 400
    assert webhook.send_dict({"delete_original": True}).status_code == 200
    slack_server.expire_response_url(url)
    expired = webhook.send(text="too late")
    assert (expired.status_code, json.loads(expired.body)["error"]) == (404, "expired_url")


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
    deadline = time.monotonic() + 3
    while slack_server.socket.open_connections > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slack_server.socket.open_connections == 1, "the client closes the old connection"


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


# --------------------------------------------------------------------------------------------------
# HTTP-mode helpers


def test_sign_request_reproduces_slacks_worked_example() -> None:
    headers = sign_request(SIGNED_BODY, SIGNING_SECRET, timestamp=SIGNED_TIMESTAMP)

    assert headers == {"X-Slack-Request-Timestamp": str(SIGNED_TIMESTAMP), "X-Slack-Signature": EXPECTED_SIGNATURE}


def test_slash_command_form_is_signed_and_parsed_like_slacks() -> None:
    body = slash_command_form(
        "check QSECOFR",
        user_id="U7",
        channel_id="C0SECOPS",
        response_url="https://hooks.slack.com/commands/T0WARDEN/1/abc",
    )
    headers = sign_request(body, "s3cret")

    assert SignatureVerifier("s3cret").is_valid_request(body, headers)
    form = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
    assert form["command"] == "/ibmi"
    assert form["text"] == "check QSECOFR"
    assert form["user_id"] == "U7"
    assert form["response_url"] == "https://hooks.slack.com/commands/T0WARDEN/1/abc"
    assert "command=%2Fibmi" in body
    assert form["trigger_id"]


def test_interactive_form_wraps_the_payload() -> None:
    body = interactive_form({"type": "block_actions", "actions": [{"action_id": "approve"}]})

    assert body.startswith("payload=%7B")
    assert json.loads(parse_qs(body)["payload"][0])["actions"][0]["action_id"] == "approve"
