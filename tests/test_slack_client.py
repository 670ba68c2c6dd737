"""The bot's Web API client retries what Slack asks it to retry, against the Slack test server."""

from __future__ import annotations

import time

import pytest

from bot.slack.client import api_base_url, make_web_client
from tests.slack_server import SlackTestServer


@pytest.fixture
def slack():
    with SlackTestServer() as server:
        yield server


@pytest.mark.parametrize("fault", ["429", "500", "503", "drop"])
def test_the_client_retries_rate_limits_server_errors_and_dropped_connections(slack, fault):
    client = make_web_client(slack.bot_token, slack.base_url)
    if fault == "drop":
        slack.drop_next("auth.test")
    else:
        slack.fail_next("auth.test", status=int(fault), retry_after=1)
    started = time.monotonic()
    assert client.auth_test()["ok"]
    calls = slack.calls_to("auth.test")
    assert len(calls) == 2 and calls[0].faulted and not calls[1].faulted
    if fault == "429":
        assert time.monotonic() - started >= 1  # waited for Retry-After


def test_base_url_gets_its_trailing_slash():
    assert api_base_url("http://127.0.0.1:9/api") == "http://127.0.0.1:9/api/"
    assert api_base_url(None) == "https://slack.com/api/"
