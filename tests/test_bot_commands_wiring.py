"""CheckRunner tells the checks what the bot ran by approval (CheckTarget.bot_commands) and the settings of the
checks they borrow from (CheckTarget.settings_of), from its own records and the configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import check_runner
from bot.checks.definition import CheckTarget
from bot.checks.splctl_exposure import SplctlSettings
from bot.config import Secrets, load_config
from bot.wiring import build_bot
from storage import approvals as store
from storage.approvals import ChangeRequest
from tests.demo_config import write_demo_config

NOW = 1_800_000_000.0
RELAY = "QSYS/CHGSMTPA ALWRLY(*LIST)"
ADD = "QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.2.0') SUBNETMASK('255.255.255.0')"
END = "QSYS/ENDTCPSVR SERVER(*SMTP)"


def write_config(tmp_path: Path) -> Path:
    splctl = """
        [checks.splctl-exposure]
        enabled = false
        allowed_holders = ["PRTADMIN"]
        sensitive_queues = ["FIN*"]
        """
    return write_demo_config(tmp_path, splctl)


def record(
    storage: Any, request_id: str, system: str, commands: tuple[str, ...], at: float, end: str, outcome: dict
) -> None:
    store.create(
        storage,
        ChangeRequest(request_id, system, "relay-set", {}, commands, "s", "U0", "r", at - 10, at + 3600, 1),
    )
    assert store.add_approval(storage, request_id, "U1", at)
    assert store.claim_execution(storage, request_id, at)
    if end == "tampered":
        assert store.refuse_tampered(storage, request_id, outcome, at)
    else:
        assert store.finish(storage, request_id, end, outcome)


@pytest.fixture
def targets(monkeypatch: pytest.MonkeyPatch) -> list[CheckTarget]:
    seen: list[CheckTarget] = []
    original = check_runner.run_checks

    def recording(connection: Any, target: CheckTarget, planned: Any, **options: Any) -> Any:
        seen.append(target)
        return original(connection, target, planned, **options)

    monkeypatch.setattr(check_runner, "run_checks", recording)
    return seen


def test_the_runner_gives_the_bots_executed_commands_and_borrowed_settings(tmp_path: Path, targets: list) -> None:
    parts = build_bot(load_config(write_config(tmp_path), env={}), Secrets(slack_bot_token="xoxb-test"))
    try:
        storage = parts.storage
        record(storage, "R-1", "DEMO", (RELAY,), NOW - 3600, "done", {"ok": True, "text": f"{RELAY}: completed"})
        record(storage, "R-2", "DEMO", (ADD, END), NOW - 1800, "failed", {"ok": False, "text": f"{ADD}: CPF1234 no"})
        record(storage, "R-3", "DEMO", (RELAY,), NOW - 900, "tampered", {"ok": False, "tampered": True, "text": "x"})
        record(storage, "R-4", "OTHER", (RELAY,), NOW - 900, "done", {"ok": True, "text": ""})
        record(storage, "R-5", "DEMO", (RELAY,), NOW - 3 * 86400, "done", {"ok": True, "text": ""})  # too old
        record(storage, "R-6", "DEMO", (RELAY,), NOW - 60, "unknown", {"ok": None, "text": "dropped"})
        parts.checks.clock = lambda: NOW
        parts.checks.run_checks("DEMO", ["changes-behind-the-bot"])
        parts.checks.run_checks("DEMO", ["unknown-connections"])
    finally:
        parts.close()
    with_commands, without = targets
    assert [(c.request_id, c.command, c.ran_at, c.approved_by) for c in with_commands.bot_commands] == [
        ("R-1", RELAY, NOW - 3600, ("U1",)),
        ("R-2", ADD, NOW - 1800, ("U1",)),  # the failing command ran; the one after it did not
        ("R-6", RELAY, NOW - 60, ("U1",)),
    ]
    splctl = with_commands.settings_of["splctl-exposure"]  # configured, though that check is disabled
    assert isinstance(splctl, SplctlSettings)
    assert splctl.allowed == frozenset({"PRTADMIN"}) and splctl.sensitive_queues == ("FIN*",)
    assert without.bot_commands == () and without.settings_of == {}  # no check of that run reads them


def test_bad_options_of_the_audit_journal_checks_are_config_problems_naming_the_key(tmp_path: Path) -> None:
    from bot.config import ConfigError

    path = write_config(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8")
        + '\n[checks.special-authority-grants]\nwindow = "soon"\nallowed_by_authority = { NOPE = ["X"] }\n'
        + '\n[checks.changes-behind-the-bot]\ntolerance = "2h"\ncommands = ["CHG SMTPA"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    problems = "\n".join(caught.value.problems)
    assert "checks.special-authority-grants.window" in problems
    assert "checks.special-authority-grants.allowed_by_authority" in problems and "'NOPE'" in problems
    assert "checks.changes-behind-the-bot" in problems and "tolerance" in problems
