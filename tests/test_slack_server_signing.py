"""Tests for the HTTP-mode requests built as Slack builds and signs them."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from tests.slack_server import interactive_form, sign_request, slash_command_form

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
