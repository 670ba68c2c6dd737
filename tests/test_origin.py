"""The parts of `handlers.origin` on their own: the replay cache, bounded in time and size by an injected
clock, and the bot's own identity from `[slack]` or `auth.test`, asked for once."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from bot.slack.identity import OwnIdentity, SlackIdentity
from handlers.origin import CLOCK_SKEW, SIGNATURE_WINDOW, ReplayCache
from tests.slack_server import SlackTestServer


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_request_is_seen_once_while_its_signature_is_valid() -> None:
    clock = Clock()
    cache = ReplayCache(clock)
    signed_at = str(int(clock.now))
    assert cache.first_time("v0=aa", signed_at)
    assert not cache.first_time("v0=aa", signed_at)
    assert cache.first_time("v0=bb", signed_at) and cache.first_time("v0=aa", str(int(clock.now) + 1))
    clock.now += SIGNATURE_WINDOW + CLOCK_SKEW - 1
    assert not cache.first_time("v0=aa", signed_at)  # Bolt would still accept it
    clock.now += 2
    assert cache.first_time("v0=aa", signed_at)  # Bolt refuses it by now: forgotten, and remembered again
    assert len(cache) == 1


def test_a_timestamp_from_the_future_is_remembered_until_it_expires() -> None:
    clock = Clock()
    cache = ReplayCache(clock)
    future = str(int(clock.now) + SIGNATURE_WINDOW)
    assert cache.first_time("v0=aa", future)
    clock.now += 2 * SIGNATURE_WINDOW
    assert not cache.first_time("v0=aa", future)


def test_the_cache_is_bounded_and_forgets_the_oldest_first(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    cache = ReplayCache(clock, max_entries=3)
    with caplog.at_level(logging.WARNING, logger="handlers.origin"):
        for name in ("a", "b", "c", "d", "e"):
            assert cache.first_time(name, str(int(clock.now)))
    assert len(cache) == 3
    assert not cache.first_time("e", str(int(clock.now)))
    assert caplog.text.count("forgotten early") == 1


@pytest.fixture
def slack():
    with SlackTestServer() as server:
        yield server


def client_for(server: SlackTestServer) -> WebClient:
    return WebClient(token=server.bot_token, base_url=server.base_url)


def test_the_identity_is_asked_of_auth_test_once(slack: SlackTestServer) -> None:
    identity = OwnIdentity(client_for(slack), clock=Clock())
    assert identity.current() == SlackIdentity("T0WARDEN", None, None)
    assert identity.current() == SlackIdentity("T0WARDEN", None, None)
    assert [call.method for call in slack.calls] == ["auth.test"]


def test_the_configuration_names_the_app_and_overrides_the_team(slack: SlackTestServer) -> None:
    identity = OwnIdentity(client_for(slack), team_id="T0OTHER", app_id="A0WARDEN", clock=Clock())
    assert identity.current() == SlackIdentity("T0OTHER", "A0WARDEN", None)


def test_an_unreachable_slack_leaves_the_identity_unknown_and_is_asked_again_later(slack: SlackTestServer) -> None:
    clock = Clock()
    slack.fail_next("auth.test", error="invalid_auth")
    identity = OwnIdentity(client_for(slack), clock=clock, retry=30.0)
    assert identity.current() is None
    clock.now += 29
    assert identity.current() is None and len(slack.calls_to("auth.test")) == 1
    clock.now += 1
    assert identity.current() == SlackIdentity("T0WARDEN", None, None)
    assert len(slack.calls_to("auth.test")) == 2


def test_a_configured_team_is_used_when_slack_cannot_answer() -> None:
    assert OwnIdentity(None, team_id="T0WARDEN").current() == SlackIdentity("T0WARDEN", None, None)
    assert OwnIdentity(None).current() is None
