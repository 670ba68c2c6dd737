"""A fifth check is one folder: the test-only example check in tests/example_checks/, found by the same
discovery as the built-in ones, is configured, listed, run and rendered with no edit elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.alerting.render import group_message
from bot.checks import registry
from bot.checks.finding import Finding
from bot.config import ConfigError, load_config
from bot.wiring import runbook_url_of
from storage.alerts import AlertRecord
from tests.demo_config import write_demo_config

EXAMPLES = "tests.example_checks"
EXAMPLE = "watched-addresses"


@pytest.fixture
def example_check() -> Iterator[None]:
    registry.add_package(EXAMPLES)
    try:
        yield
    finally:
        registry.remove_package(EXAMPLES)


def write_config(tmp_path: Path, checks: str = "") -> Path:
    return write_demo_config(tmp_path, tables=checks, system_lines='trusted = ["10.0.0.0/8"]')


def test_the_example_is_found_by_the_same_discovery() -> None:
    (example,) = registry.discover(EXAMPLES)
    assert example.id == EXAMPLE and example.package == "watched_addresses" and example.runbook.is_file()
    assert EXAMPLE not in registry.check_ids()  # only once its package is added


def test_an_added_package_joins_the_built_in_checks_in_a_stable_order(example_check: None) -> None:
    ids = registry.check_ids()
    built_in = ("unknown-connections", "plaintext-services", "smtp-relay", "splctl-exposure")
    journal = ("signon-attacks", "authority-failures", "special-authority-grants", "changes-behind-the-bot")
    assert ids == (*built_in, *journal, EXAMPLE)
    assert registry.check(EXAMPLE).option_names == ("networks", "severity")


def test_config_accepts_the_example_check_and_its_options(tmp_path: Path, example_check: None) -> None:
    config = load_config(
        write_config(tmp_path, f'[checks.{EXAMPLE}]\nnetworks = ["210.107.73.0/24"]\ninterval = "1m"\n'), env={}
    )
    assert config.check(EXAMPLE).options == {"networks": ["210.107.73.0/24"]}
    assert config.check(EXAMPLE).interval == 60.0


def test_config_refuses_an_unknown_option_and_a_bad_value_of_the_example_check(
    tmp_path: Path, example_check: None
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, f'[checks.{EXAMPLE}]\ncolour = "red"\n'), env={})
    (problem,) = caught.value.problems
    assert f"checks.{EXAMPLE}.colour" in problem and "networks" in problem, problem
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, f'[checks.{EXAMPLE}]\nnetworks = ["not a network"]\n'), env={})
    (problem,) = caught.value.problems
    assert f"checks.{EXAMPLE}.networks" in problem and "'not a network' is not a network" in problem, problem


def test_without_its_package_the_example_check_is_an_unknown_check(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, f"[checks.{EXAMPLE}]\nenabled = false\n"), env={})
    (problem,) = caught.value.problems
    assert f"checks.{EXAMPLE}: unknown check" in problem


def test_the_check_help_lists_the_example(example_check: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    assert f"{EXAMPLE:22} Connections from watched addresses (every 5m)" in capsys.readouterr().out


def test_check_json_runs_the_example_on_the_demo(
    tmp_path: Path, example_check: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)  # keep pytest's log capture
    config = write_config(tmp_path, f'[checks.{EXAMPLE}]\nnetworks = ["210.107.73.0/24"]\n')
    status = cli.main(["check", "--config", str(config), "--json"])
    output = json.loads(capsys.readouterr().out)
    assert status == cli.EXIT_FINDINGS and output["errors"] == {}
    watched = [f for f in output["findings"] if f["check"] == EXAMPLE]
    assert [(f["subject"], f["severity"]) for f in watched] == [("210.107.73.73", "critical")]
    assert {f["check"] for f in output["findings"]} >= {"unknown-connections", EXAMPLE}


def alert_of(check: str) -> AlertRecord:
    finding = Finding("DEMO", check, "critical", "210.107.73.73", "1 connection from watched address 210.107.73.73")
    finding.facts["remote_address"] = "210.107.73.73"
    return AlertRecord(
        fingerprint=finding.fingerprint,
        system="DEMO",
        check=check,
        subject=finding.subject,
        severity="critical",
        title=finding.title,
        state="open",
        first_seen=1_700_000_000.0,
        last_seen=1_700_000_000.0,
        finding=finding.to_json(),
    )


def button_texts(message: dict) -> list[str]:
    return [
        element["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_an_alert_of_the_example_gets_the_address_buttons_and_its_runbook(tmp_path: Path, example_check: None) -> None:
    config = load_config(write_config(tmp_path), env={})
    runbook_url = runbook_url_of(config)
    message = group_message("DEMO", EXAMPLE, [alert_of(EXAMPLE)], runbook_url(EXAMPLE))
    assert button_texts(message) == ["Trace owner", "Trust…", "End connection…", "Silence 24h"]
    assert runbook_url(EXAMPLE) == f"{config.slack.runbook_base_url}watched_addresses/runbook.md"
    assert registry.about_address(EXAMPLE)


def test_an_alert_of_a_check_not_about_an_address_only_gets_silence(example_check: None) -> None:
    message = group_message("DEMO", "smtp-relay", [alert_of("smtp-relay")], None)
    assert button_texts(message) == ["Silence 24h"]
