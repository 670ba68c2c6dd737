"""The audit journal checks end to end: the demo IBM i's journal → the four journal checks → alerts → the Slack test
server. The demo's story (docs/demo-system.md) is in its journal from the moment its folder is made."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.ibmi.cl import EndTcpConnection
from bot.wiring import Bot
from storage.alerts import messages_of, open_alerts
from tests.slack_server import SlackTestServer
from tests.test_alerts_e2e import FakeClock, cycle, start, text_of, top_level

JOURNAL_CHECKS = ("signon-attacks", "special-authority-grants", "changes-behind-the-bot", "authority-failures")


@pytest.fixture
def slack():
    with SlackTestServer(scopes="chat:write,commands") as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def header(message: dict[str, Any]) -> str:
    return message["blocks"][0]["text"]["text"]


def journal_messages(slack: SlackTestServer) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {check: [] for check in JOURNAL_CHECKS}
    for message in top_level(slack):
        check = header(message).split(" · ")[-1]
        if check in found:
            found[check].append(message)
    return found


def buttons_of(message: dict[str, Any]) -> list[str]:
    return [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_each_event_kind_is_posted_once_grouped_per_system_and_check_with_its_buttons(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock)
    try:
        cycle(parts, clock)
        posted = journal_messages(slack)
        assert all(len(messages) == 1 for messages in posted.values()), {c: len(m) for c, m in posted.items()}
        signons = posted["signon-attacks"][0]
        assert header(signons) == "DEMO · signon-attacks" and "210.107.73.73" in text_of(signons)
        assert buttons_of(signons)[:4] == ["Trace owner", "Trust…", "End connection…", "Silence 24h"]
        grants = posted["special-authority-grants"][0]
        assert "JSMITH" in text_of(grants) and "*SPLCTL" in text_of(grants) and "QSECOFR" in text_of(grants)
        assert buttons_of(grants) == ["Silence 24h"]
        behind = posted["changes-behind-the-bot"][0]
        assert "CHGSMTPA" in text_of(behind) and "ALWRLY(*ALL)" in text_of(behind)
        refused = posted["authority-failures"][0]
        assert "PAYLIB/PAYROLL" in text_of(refused) and "APIUSER" in text_of(refused)
        calls = len(slack.calls)
        clock.advance(60)
        cycle(parts, clock)  # the same story, nothing new in the journal: not a single Slack call
        assert len(slack.calls) == calls
    finally:
        parts.close()


def test_nothing_is_posted_again_after_a_restart_and_new_entries_are_read_from_where_the_last_read_ended(
    slack, tmp_path, clock
):
    parts = start(slack, tmp_path, clock)
    try:
        cycle(parts, clock)
        posted = sum(len(m) for m in journal_messages(slack).values())
    finally:
        parts.close()
    restarted = start(slack, tmp_path, clock)
    try:
        clock.advance(60)
        calls = len(slack.calls)
        cycle(restarted, clock)
        assert len(slack.calls) == calls  # nothing read twice, nothing posted twice
        demo = restarted.systems.connection("DEMO")
        connection = dict(local_address="10.1.1.5", local_port=23, remote_address="210.107.73.73", remote_port=40411)
        demo.run_cl(EndTcpConnection.build(**connection))  # by hand, not by approval
        clock.advance(60)
        cycle(restarted, clock)  # the command run outside an approval is read: one new alert, nothing else
        assert sum(len(m) for m in journal_messages(slack).values()) == posted + 1
        assert "ENDTCPCNN" in text_of(journal_messages(slack)["changes-behind-the-bot"][-1])
    finally:
        restarted.close()


def small_batches(parts: Bot, entries: int) -> None:
    """Each journal check reads at most `entries` a cycle."""
    config = parts.config
    checks = dict(config.checks)
    for check in JOURNAL_CHECKS:
        base = config.check(check)
        checks[check] = replace(base, options={**base.options, "max_entries": entries})
    parts.checks.config = replace(config, checks=checks)


def test_a_backlog_is_caught_up_over_cycles_and_every_entry_counted_once(slack, tmp_path, clock):
    parts = start(slack, tmp_path, clock)
    try:
        small_batches(parts, 2)  # the story's twelve failed sign-ons take six reads and more
        for _ in range(12):
            cycle(parts, clock)
            clock.advance(60)
        attacker = next(a for a in open_alerts(parts.storage) if a.subject == "address:210.107.73.73")
        assert attacker.finding["facts"]["failures"] == 12  # every entry judged, none twice
        assert attacker.severity == "critical"
        assert len(messages_of(parts.storage, attacker.fingerprint)) == 1  # posted once, then edited as it grew
        grants = [a for a in open_alerts(parts.storage) if a.check == "special-authority-grants"]
        assert [a.subject for a in grants] == ["JSMITH:*SPLCTL"]
    finally:
        parts.close()


def test_check_settings_are_validated_like_the_other_checks():
    from bot.checks import registry

    for check in JOURNAL_CHECKS:
        definition = registry.check(check)
        assert definition.default_interval == 60.0
        assert {"window", "max_entries"} <= set(definition.option_names)
        try:
            definition.build_settings({"max_entries": 0})
        except (TypeError, ValueError) as error:
            assert "max_entries" in str(error) and "1 to 100000" in str(error)
        else:
            raise AssertionError(f"{check} took max_entries = 0")
