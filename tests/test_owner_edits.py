"""Issue finding 9: owner look-ups edit each alert message once, however many owners are found, so a burst of
new untrusted addresses never delays the next critical alert by more than one edit."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.checks.finding import Finding
from bot.config import Secrets
from bot.trace import Owner
from bot.wiring import Bot, build_bot
from storage import outbox
from tests.slack_server import SlackTestServer
from tests.test_alerts_e2e import ALERTS, FakeClock, OfflineTracer, deliver_all, make_config


class InstantRegistry(OfflineTracer):
    """Every address has an owner, answered at once (the network is not what is measured here)."""

    def __init__(self) -> None:
        self.looked_up = 0

    def trace(self, address: str) -> Owner:
        self.looked_up += 1
        return Owner(
            address=address,
            kind="rdap",
            organisation=f"ORG-{address}",
            network_name="EXAMPLE-NET",
            cidr=f"{address}/32",
            country="ZZ",
            registry="RIPE",
            looked_up_at=datetime.now(UTC),
        )


def new_addresses(count: int) -> list[Finding]:
    return [
        Finding(
            system="DEMO",
            check="unknown-connections",
            severity="warning",
            subject=f"198.51.{n // 250}.{n % 250 + 1}",
            title=f"Connection from untrusted 198.51.{n // 250}.{n % 250 + 1}",
            facts={"remote_address": f"198.51.{n // 250}.{n % 250 + 1}"},
        )
        for n in range(count)
    ]


PAYROLL = Finding(
    system="DEMO",
    check="plaintext-services",
    severity="critical",
    subject="PAYROLL telnet",
    title="PAYROLL signed on over telnet",
)


@pytest.fixture
def slack():
    with SlackTestServer(scopes="chat:write,commands") as server:
        yield server


def start(slack: SlackTestServer, folder: Path, clock: FakeClock, tracer: InstantRegistry) -> Bot:
    secrets = Secrets(slack_bot_token=slack.bot_token, slack_api_url=slack.base_url)
    return build_bot(make_config(folder), secrets, clock=clock, tracer=tracer)


def calls_before(slack: SlackTestServer, text: str) -> list[str]:
    names = []
    for call in slack.calls:
        if call.method in ("chat.postMessage", "chat.update") and call.params.get("channel") in (ALERTS, None):
            if text in str(call.params.get("text", "")):
                return names
            names.append(call.method)
    raise AssertionError(f"no call with {text!r}")


def test_218_owners_found_delay_the_next_critical_alert_by_one_edit_at_most(slack, tmp_path) -> None:
    clock, tracer = FakeClock(), InstantRegistry()
    bot = start(slack, tmp_path, clock, tracer)
    try:
        result = bot.alerts.process("DEMO", "unknown-connections", new_addresses(218))
        bot.enricher.enrich(result.new)
        bot.enricher.wait_idle(timeout=30)
        assert tracer.looked_up == 218
        bot.alerts.process("DEMO", "plaintext-services", [PAYROLL])
        deliver_all(bot, clock)
    finally:
        bot.close()
    # the alert message, its details reply, one edit with every owner, then the payroll alert
    assert calls_before(slack, "plaintext-services") == ["chat.postMessage", "chat.postMessage", "chat.update"]
    (edit,) = slack.calls_to("chat.update")
    assert "ORG-198.51.0.1" in str(edit.params)


def test_2034_owners_queue_one_edit_per_message_in_linear_time(slack, tmp_path) -> None:
    clock, tracer = FakeClock(), InstantRegistry()
    bot = start(slack, tmp_path, clock, tracer)
    try:
        result = bot.alerts.process("DEMO", "unknown-connections", new_addresses(2_034))
        started = time.process_time()
        bot.enricher.enrich(result.new)
        bot.enricher.wait_idle(timeout=120)
        enrich_cpu = time.process_time() - started
        edits = outbox.items(bot.storage, state="pending")
    finally:
        bot.close()
    assert tracer.looked_up == 2_034
    posts = [item for item in edits if item.method == outbox.POST]
    updates = [item for item in edits if item.method == outbox.UPDATE]
    assert len(posts) == 2 and len(updates) == 1  # the message, its details reply, one edit: O(messages)
    assert enrich_cpu < 30, f"{enrich_cpu:.1f} s of CPU for 2,034 owners"
