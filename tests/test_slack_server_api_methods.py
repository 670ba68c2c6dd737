"""Tests for the Slack stand-in's Web API methods: messages, views, users and user groups."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from slack_sdk.errors import SlackApiError

from tests.slack_clients import approval_blocks, bot_client, section
from tests.slack_server import (
    BOT_ID,
    DEFAULT_SCOPES,
    SlackTestServer,
    slack_server_fixture,  # noqa: F401 - registers the ``slack_server`` fixture
)

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
    with SlackTestServer(trigger_ttl=0.0) as slack:  # valid for no time at all: expired by the time it is used
        form = parse_qs(slack.slash_command_form("fix"))
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
