"""Tests for the Slack stand-in's ``response_url`` endpoints."""

from __future__ import annotations

import json

from slack_sdk.webhook import WebhookClient

from tests.slack_server import (
    SlackTestServer,
    slack_server_fixture,  # noqa: F401 - registers the ``slack_server`` fixture
)

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
