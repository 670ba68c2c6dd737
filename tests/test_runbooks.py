"""The runbooks (bot/checks/<package>/runbook.md): one per check, in one shape, linked from every alert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.alerting.render import group_message
from bot.checks import registry
from bot.checks.finding import Finding
from bot.config import DEFAULT_RUNBOOK_BASE_URL, ConfigError, Secrets, SlackSettings, load_config
from bot.wiring import build_bot, runbook_url_of
from storage import outbox
from storage.alerts import AlertRecord
from tests.demo_config import write_demo_config

ROOT = Path(__file__).resolve().parent.parent
CHECKS_FOLDER = ROOT / "bot" / "checks"
CHECK_IDS = registry.check_ids()

# Every runbook has these second-level headings, in this order (other sections may come between them).
REQUIRED_SECTIONS = (
    "The risk",
    "IBM facts and sources",
    "How to fix it by hand",
    "What the bot can do for you",
    "How to tune it",
    "How to silence it",
)


def headings(text: str) -> list[str]:
    """The `## ` headings of a Markdown text, outside code blocks."""
    found, in_code = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("## "):
            found.append(line[3:].strip())
    return found


def sections(text: str) -> dict[str, str]:
    """The body of each `## ` section (up to the next `## ` heading)."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


@pytest.mark.parametrize("check", CHECK_IDS)
def test_every_check_has_a_runbook_with_the_required_sections(check: str) -> None:
    path = registry.check(check).runbook
    where = path.relative_to(ROOT).as_posix()
    assert path.is_file(), f"{check} has no runbook at {where}"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# Check: `{check}`"
    found = headings(text)
    missing = [name for name in REQUIRED_SECTIONS if name not in found]
    assert not missing, f"{where} lacks the sections {missing}"
    assert [name for name in found if name in REQUIRED_SECTIONS] == list(REQUIRED_SECTIONS), (
        f"{where}: the required sections are out of order: {found}"
    )
    body = sections(text)
    assert "http" in body["IBM facts and sources"], "sources name where the facts come from"
    assert "```" in body["How to fix it by hand"], "the fix by hand shows the CL"
    assert f"[checks.{check}]" in body["How to tune it"] + body["How to silence it"]
    assert "/ibmi silence" in body["How to silence it"]


def test_no_runbook_for_an_unknown_check() -> None:
    assert {path.parent.name for path in CHECKS_FOLDER.glob("*/runbook.md")} == {c.package for c in registry.checks()}


def test_runbooks_promise_nothing_for_later() -> None:
    for path in CHECKS_FOLDER.glob("*/runbook.md"):
        text = path.read_text(encoding="utf-8").lower()
        assert "in a later version" not in text and "remediation version" not in text, path.parent.name


# --- the link in alert messages ---------------------------------------------------------------


def write_config(tmp_path: Path, slack_extra: str = "") -> Path:
    return write_demo_config(tmp_path, slack_lines=slack_extra)


def fake_alert(check: str) -> AlertRecord:
    finding = Finding("DEMO", check, "warning", "203.0.113.7", "1 connection from untrusted address 203.0.113.7")
    return AlertRecord(
        fingerprint=finding.fingerprint,
        system="DEMO",
        check=check,
        subject=finding.subject,
        severity="warning",
        title=finding.title,
        state="open",
        first_seen=1_700_000_000.0,
        last_seen=1_700_000_000.0,
        finding=finding.to_json(),
    )


def context_texts(message: dict) -> list[str]:
    return [
        element["text"] for block in message["blocks"] if block["type"] == "context" for element in block["elements"]
    ]


def test_the_default_runbook_address() -> None:
    assert SlackSettings("C0123ALERTS", "C0456APPROV").runbook_base_url == DEFAULT_RUNBOOK_BASE_URL
    assert DEFAULT_RUNBOOK_BASE_URL == "https://github.com/ibmi-warden/ibmi-warden/blob/main/bot/checks/"


def test_the_default_runbook_links_point_at_the_runbooks_in_the_repository(tmp_path: Path) -> None:
    runbook_url = runbook_url_of(load_config(write_config(tmp_path), env={}))
    for check in registry.checks():
        url = runbook_url(check.id)
        assert url is not None and url.startswith(DEFAULT_RUNBOOK_BASE_URL)
        assert (CHECKS_FOLDER / url.removeprefix(DEFAULT_RUNBOOK_BASE_URL)) == check.runbook


def test_an_alert_message_links_to_its_runbook(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path), env={})
    runbook_url = runbook_url_of(config)
    message = group_message(
        "DEMO", "unknown-connections", [fake_alert("unknown-connections")], runbook_url("unknown-connections")
    )
    expected = f"<{DEFAULT_RUNBOOK_BASE_URL}unknown_connections/runbook.md|what to do>"
    assert any(expected in text for text in context_texts(message)), context_texts(message)


def test_a_configured_runbook_address_is_used_for_every_check(tmp_path: Path) -> None:
    base = "https://git.example.com/sec/ibmi-warden/blob/main/bot/checks/"
    config = load_config(write_config(tmp_path, f'runbook_base_url = "{base}"'), env={})
    assert config.slack.runbook_base_url == base
    runbook_url = runbook_url_of(config)
    for check in CHECK_IDS:
        assert runbook_url(check) == f"{base}{check.replace('-', '_')}/runbook.md"
    # an alert of something that is not a check (an unreachable system) has no runbook
    assert runbook_url("reachability") is None


def test_the_posted_alert_carries_the_runbook_link(tmp_path: Path) -> None:
    """Through the bot's own wiring: build_bot() gives the alert lifecycle the runbook links."""
    config = load_config(write_config(tmp_path), env={})
    parts = build_bot(config, Secrets(slack_bot_token="xoxb-test"))
    try:
        finding = Finding("DEMO", "smtp-relay", "critical", "relay-policy", "Open relay")
        parts.alerts.process("DEMO", "smtp-relay", [finding])
        (post,) = [item for item in outbox.items(parts.storage) if item.method == "chat.postMessage"]
        link = f"<{DEFAULT_RUNBOOK_BASE_URL}smtp_relay/runbook.md|what to do>"
        assert any(link in text for text in context_texts(post.payload)), post.payload
    finally:
        parts.close()


@pytest.mark.parametrize(
    "value",
    [
        "http://github.com/ibmi-warden/ibmi-warden/blob/main/docs/checks/",  # not https
        "https://github.com/ibmi-warden/ibmi-warden/blob/main/docs/checks",  # no trailing /
        "docs/checks/",
        "https:///",
        "https://example.com/run books/",
        "https://example.com/a|b/",
    ],
)
def test_a_bad_runbook_address_is_a_config_problem(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, f'runbook_base_url = "{value}"'), env={})
    (problem,) = caught.value.problems
    assert "slack.runbook_base_url" in problem and "https://" in problem and "'/'" in problem


def test_a_runbook_address_that_is_not_a_string_is_a_config_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, "runbook_base_url = 42"), env={})
    (problem,) = caught.value.problems
    assert "slack.runbook_base_url" in problem and "expected a string" in problem
