"""Every ```toml example in the README, docs/ and the runbooks is valid TOML that the configuration loader
accepts. A fragment (one table, a system without its connection) is completed with the least a configuration
needs: the two Slack channels and, when it names no system, one demo system; a `ca_file`, a path on the reader's
machine, is pointed at a file that exists."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError
from bot.config.load import config_from_data

REPO = Path(__file__).resolve().parents[1]
FENCED_TOML = re.compile(r"^```toml\n(.*?)^```", re.S | re.M)
MINIMAL_SLACK = {"alerts_channel": "C0123ALERTS", "approvals_channel": "C0456APPROV"}
MINIMAL_SYSTEM = {"name": "DEMO", "connection": "demo"}


def documents() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=REPO, capture_output=True, text=True, check=False)
    names = listed.stdout.split() if listed.returncode == 0 else []
    paths = [REPO / name for name in names] or sorted(REPO.glob("**/*.md"))
    return [path for path in paths if path.is_file()]


def examples() -> list[tuple[str, str]]:
    found = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        for match in FENCED_TOML.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(REPO)}:{line}", match.group(1)))
    return found


def completed(fragment: dict[str, Any], existing_file: Path) -> dict[str, Any]:
    data = dict(fragment)
    data["slack"] = {**MINIMAL_SLACK, **data.get("slack", {})}
    systems = [{**MINIMAL_SYSTEM, **system} for system in data.get("systems") or [MINIMAL_SYSTEM]]
    data["systems"] = [{**s, "ca_file": str(existing_file)} if "ca_file" in s else s for s in systems]
    return data


EXAMPLES = examples()


def test_the_documents_hold_toml_examples() -> None:
    places = {where.split(":")[0] for where, _ in EXAMPLES}
    assert "README.md" in places and "bot/checks/plaintext_services/runbook.md" in places
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_every_toml_example_loads(where: str, text: str, tmp_path: Path) -> None:
    try:
        fragment = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        pytest.fail(f"{where}: not valid TOML: {error}")
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    config_from_data(Path(where), completed(fragment, pem))  # raises ConfigError naming every wrong key


def test_a_broken_example_would_be_caught(tmp_path: Path) -> None:
    broken = '[checks.plaintext-services]\nports = [\n  { port = 21, service = "ftp",\n    tls_port = 990 },\n]\n'
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(broken)
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_data(Path("x.md"), completed(tomllib.loads("[checks.smtp-relay]\nprobe_timout = 5\n"), tmp_path))
