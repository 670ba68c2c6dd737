"""A configuration file for one demo system (DEMO), as several tests write it: Slack channels, the database and the
demo system in `tmp_path`, then the tests' own lines."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_demo_config(tmp_path: Path, tables: str = "", system_lines: str = "", slack_lines: str = "") -> Path:
    """warden.toml in `tmp_path`: `slack_lines` are added to the [slack] table, `system_lines` to the [[systems]]
    table, `tables` after it."""
    path = tmp_path / "warden.toml"
    path.write_text(
        textwrap.dedent("""
        [slack]
        alerts_channel = "C0123ALERTS"
        approvals_channel = "C0456APPROV"
        """)
        + textwrap.dedent(slack_lines)
        + textwrap.dedent(f"""

        [storage]
        path = "{(tmp_path / "warden.db").as_posix()}"

        [[systems]]
        name = "DEMO"
        connection = "demo"
        demo.path = "{(tmp_path / "demo-ibmi").as_posix()}"
        """)
        + textwrap.dedent(system_lines)
        + "\n"
        + textwrap.dedent(tables),
        encoding="utf-8",
    )
    return path
