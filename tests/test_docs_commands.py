"""What the README and the docs say the bot accepts, compared with what it accepts, both ways: the CLI's
sub-commands and flags (read from bot/cli.py's parser), the `/ibmi` sub-commands (their declarations), the
configuration keys (the sections the loader reads) and each check's options (its settings)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from bot.checks import registry
from bot.cli import build_parser
from bot.config import ConfigError, SystemSettings, validation
from bot.config.load import config_from_data
from bot.config.readers.roles import APPROVAL_ACTIONS
from handlers.commands import SUB_COMMANDS

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
CODE = re.compile(r"^```[a-z]*\n(.*?)^```|`([^`\n]+)`", re.S | re.M)


def table_rows(text: str, header: str) -> Iterator[list[str]]:
    """The cells of each row of the Markdown table whose header row is `header`."""
    lines = text[text.index(header) :].splitlines()[2:]
    for line in lines:
        if not line.startswith("|"):
            return
        yield [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


def section(text: str, heading: str) -> str:
    """From `heading` to the next heading of its level or above, code blocks (whose `# comments` are no
    headings) included."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text[text.index(heading) :].splitlines(keepends=True)
    fenced = False
    for number, line in enumerate(lines[1:], start=1):
        fenced = fenced != line.startswith("```")
        if not fenced and re.match(rf"#{{1,{level}}} ", line):
            return "".join(lines[:number])
    return "".join(lines)


def backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


# --- the CLI ------------------------------------------------------------------------------------------


def cli_flags() -> dict[str, set[str]]:
    """Each CLI sub-command with the flags its parser accepts (help aside)."""
    parser = build_parser()
    [commands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return {
        name: {flag for action in sub._actions for flag in action.option_strings if flag.startswith("--")} - {"--help"}
        for name, sub in commands.choices.items()
    }


def documented_cli() -> dict[str, set[str]]:
    """The README's command table: each `ibmi-warden COMMAND …` row with every flag the row names."""
    commands = section(README, "## Commands")
    rows = table_rows(commands, "| Command | What it does |")
    every_command = set(FLAG.findall(" ".join(re.findall(r"Every command also takes ([^:.]*)", commands))))
    documented = {}
    for cells in rows:
        usage = backticked(cells[0])[0]
        if usage.startswith("ibmi-warden "):
            documented[usage.split()[1]] = set(FLAG.findall(" ".join(cells))) | every_command
    return documented


def test_every_cli_command_and_flag_is_in_the_readme_and_nothing_more() -> None:
    accepted, documented = cli_flags(), documented_cli()
    assert sorted(documented) == sorted(accepted), "README command table vs bot/cli.py sub-commands"
    for command, flags in accepted.items():
        assert flags - documented[command] == set(), f"ibmi-warden {command}: flags the README does not name"
        assert documented[command] - flags == set(), f"ibmi-warden {command}: flags the README names but none parses"


def code_in(text: str) -> Iterator[str]:
    for match in CODE.finditer(text):
        yield match.group(1) or match.group(2)


def test_every_cli_use_in_the_docs_names_a_command_and_flags_that_exist() -> None:
    accepted = cli_flags()
    wrong = []
    for path in DOCUMENTS:
        for code in code_in(path.read_text(encoding="utf-8")):
            for match in re.finditer(r"(?<!-u )\bibmi-warden[ \t]+([a-z][a-z-]*)([^\n;&|`]*)", code):
                command, rest = match.group(1), match.group(2)
                if command not in accepted:
                    wrong.append(f"{path.name}: ibmi-warden {command}: no such command")
                else:
                    wrong += [
                        f"{path.name}: ibmi-warden {command} {flag}"
                        for flag in FLAG.findall(rest)
                        if flag not in accepted[command] | {"--help"}
                    ]
    assert wrong == []


# --- /ibmi in Slack -----------------------------------------------------------------------------------


def test_every_slack_sub_command_is_in_the_readme_and_nothing_more() -> None:
    rows = table_rows(section(README, "### In Slack"), "| Command (example) | What it does | Who |")
    documented = {word.split()[1] for cells in rows for word in backticked(cells[0]) if word.startswith("/ibmi ")}
    assert documented == {command.name for command in SUB_COMMANDS if command.available}


def test_the_slack_app_guide_shows_the_manifests_usage_hint() -> None:
    manifest = json.loads((REPO / "app.json").read_text(encoding="utf-8"))
    hint = manifest["features"]["slash_commands"][0]["usage_hint"]
    guide = (REPO / "docs" / "slack-app.md").read_text(encoding="utf-8")
    assert f"usage hint `{hint.replace('|', chr(92) + '|')}`" in guide


# --- the configuration --------------------------------------------------------------------------------


def every_table() -> dict:
    """A configuration holding every table the loader reads, each empty, so every section reader runs."""
    return {
        "slack": {"routes": [{}]},
        "roles": {},
        "approvals": {APPROVAL_ACTIONS[0]: {}, "limits": {}},
        "storage": {},
        "http": {},
        "scheduler": {},
        "systems": [{"connection": "demo", "demo": {}, "checks": {}}],
        "checks": {},
        "alerts": {},
        "trace": {},
        "digest": {},
    }


def accepted_by_section() -> dict[str, set[str]]:
    """The keys each table accepts, by its path (`systems[].demo`), as the loader's section readers say."""
    accepted: dict[str, set[str]] = {}
    record = validation.Section.__init__

    def recording(self, problems, path, data, names, noun="key") -> None:  # type: ignore[no-untyped-def]
        accepted.setdefault(re.sub(r"\[\d+\]", "[]", path), set()).update(names)
        record(self, problems, path, data, names, noun)

    with mock.patch.object(validation.Section, "__init__", recording), pytest.raises(ConfigError):
        config_from_data(Path("every-table.toml"), every_table())  # required keys are missing: only the names matter
    return accepted


def loader_keys() -> set[str]:
    """Every key the loader accepts outside the checks' own tables, as the README spells them
    (`systems[].name`, `approvals.ttl` for both [approvals] and [approvals.<action>])."""
    accepted = accepted_by_section()
    tables = set(accepted) | {path.removesuffix("[]") for path in accepted}
    keys = set()
    for path, names in accepted.items():
        if path.endswith("checks") or path in {f"approvals.{action}" for action in APPROVAL_ACTIONS}:
            continue  # the checks' options: their runbooks; an action's policy: the [approvals] keys
        keys |= {f"{path}.{name}" if path else name for name in names if f"{path}.{name}".strip(".") not in tables}
    return keys - {f"approvals.{action}" for action in APPROVAL_ACTIONS}


def documented_keys() -> set[str]:
    """The README's configuration table: `a.b.c`, `d` names a.b.c and a.b.d; a table's row (`slack.routes[]`)
    names the fields its text lists."""
    documented = set()
    for cells in table_rows(section(README, "## Configuration"), "| Key | Default | Meaning |"):
        parent = ""
        for name in re.split(r"[,/]\s*", cells[0]):
            name = name.strip().strip("`")
            full = f"{parent}.{name}" if parent and "." not in name else name
            parent = full.rsplit(".", 1)[0]
            if "<" in full or "*" in full:
                continue  # checks.<id>.…: each check's runbook
            documented.add(full)
            if full.endswith("[]"):
                braces = re.search(r"\{([^}]*)\}", cells[2])
                documented |= {f"{full}.{field.strip()}" for field in braces.group(1).split(",")} if braces else set()
    return documented


def test_every_configuration_key_is_in_the_readme_and_nothing_more() -> None:
    accepted, documented = loader_keys(), documented_keys() - {"slack.routes[]"}
    assert sorted(accepted - documented) == [], "keys the loader reads that the README's table leaves out"
    assert sorted(documented - accepted) == [], "keys the README's table names that the loader does not read"


def test_the_demo_guide_names_every_demo_setting_and_nothing_more() -> None:
    guide = section((REPO / "docs" / "demo-system.md").read_text(encoding="utf-8"), "## Settings: `[systems.demo]`")
    documented = {backticked(cells[0])[0] for cells in table_rows(guide, "| Key | Default | Meaning |")}
    assert documented == accepted_by_section()["systems[].demo"]


def test_doctor_names_the_ports_the_deployment_guide_opens() -> None:
    from bot.doctor.system import _reach_fix
    from bot.ibmi.errors import ConnectionFailedError

    guide = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    [row] = [line for line in guide.splitlines() if line.startswith("| each IBM i | the IBM i Access ODBC driver")]
    system = SystemSettings(name="PROD", connection="DSN=PROD")
    fix = _reach_fix(system, ConnectionFailedError("PROD", "refused"))
    assert (
        set(re.findall(r"\b\d{3,4}\b", fix))
        == set(re.findall(r"\b\d{3,4}\b", row))
        == {"449", "8471", "8476", "9471", "9476"}
    )


def test_the_readme_names_every_approval_action() -> None:
    policy = section(README, "### The approval model")
    listed = re.search(r"\*\*Policy per action\*\*.*?for (.*?)\): who approves", policy, re.S)
    assert listed is not None
    assert set(backticked(listed.group(1))) == set(APPROVAL_ACTIONS)


@pytest.mark.parametrize("check", registry.checks(), ids=lambda check: check.id)
def test_every_check_option_is_in_its_runbook_and_nothing_more(check: registry.CheckDefinition) -> None:
    tuning = section(check.runbook.read_text(encoding="utf-8"), "## How to tune it")
    rows = table_rows(tuning, "| Key | Default | Meaning |") if "| Key | Default | Meaning |" in tuning else []
    documented = {name for cells in rows for name in backticked(cells[0])} - {"enabled", "interval"}
    documented = {name for name in documented if "." not in name}  # systems[].trusted: the system's, not the check's
    assert documented == set(check.option_names)
