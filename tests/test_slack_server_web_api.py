"""Tests for the Slack stand-in's Web API: tokens and scopes, injected faults against slack_sdk's
retry handlers, and the recorded calls."""

from __future__ import annotations

import random
import threading
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from tests.slack_clients import bot_client, post_form
from tests.slack_server import (
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_SCOPES,
    TEAM_ID,
    SlackTestServer,
    slack_server_fixture,  # noqa: F401 - registers the ``slack_server`` fixture
)

FAST_RETRY = FixedValueRetryIntervalCalculator(0.01)


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
