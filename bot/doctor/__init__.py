"""`ibmi-warden doctor`: a checklist of what the bot needs, one line per item, with a fix for each failure.

Items: the configuration, the database ([storage] path: opened read-only, writable, or creatable where it
is missing), the roles (not the example's placeholders), the ODBC driver (only when an ODBC system is
configured), mapepire-python (only when a Mapepire system is configured), per system what its profile can
read (NETSTAT, the job view, output queues, the SMTP lists) and whether it may run approved SMTP changes,
Slack (the bot token, the second secret of the chosen mode, the scopes, and messages parked in the outbox
per channel), and the audit key and anchor channel. Each item is `ok`, `FAIL`, `WARN`, `unknown` or
`skipped`; FAIL and WARN come with the fix. Nothing is changed anywhere: only reads, and Slack's auth.test.

Exit status: 0 when everything the configuration needs holds (WARN and unknown allowed), 1 when an item
failed, 2 when the configuration cannot be loaded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.config import Config, ConfigError, Secrets, load_config
from bot.doctor.audit import check_audit_key
from bot.doctor.driver import check_mapepire_driver, check_odbc_driver
from bot.doctor.outbox import check_outbox
from bot.doctor.report import EXIT_NO_CONFIG, EXIT_NOT_READY, EXIT_READY, FAIL, OK, Report
from bot.doctor.roles import check_roles
from bot.doctor.slack import BOT_SCOPES, check_slack
from bot.doctor.storage import check_storage
from bot.doctor.system import check_system

__all__ = ["BOT_SCOPES", "run_doctor"]


def run_doctor(
    config_path: str | Path | None,
    secrets: Secrets,
    env: Mapping[str, str] = os.environ,
    out: TextIO | None = None,
    http_port: int | None = None,
) -> int:
    """Run every item, print the checklist to `out` (standard output), and return the exit status. `http_port`:
    check for HTTP mode (`run --http PORT`) instead of Socket Mode."""
    out = out or sys.stdout
    try:
        config = load_config(config_path, env)
    except ConfigError as error:
        report = Report(out, secrets.values())
        report.add(
            FAIL,
            "configuration",
            f"{len(error.problems)} problem{'s' if len(error.problems) != 1 else ''}",
            fix="correct the keys named above; bot/warden.example.toml shows every key with its default",
            more=error.problems,
        )
        print(f"\n{report.summary()}", file=out)
        return EXIT_NO_CONFIG
    report = Report(out, secrets.values() + _system_secrets(config, env))
    print(f"ibmi-warden doctor: {config.path}", file=out)
    systems = ", ".join(s.name for s in config.systems)
    report.add(OK, "configuration", f"{len(config.systems)} system{'s' if len(config.systems) != 1 else ''}: {systems}")
    check_storage(config, report)
    check_roles(config, report)
    check_odbc_driver(config, report)
    check_mapepire_driver(config, report)
    for system in config.systems:
        check_system(config, system, report, env)
    check_slack(config, secrets, report, http_port)
    check_outbox(config, report)
    check_audit_key(config, secrets, report)
    print(f"\n{report.summary()}", file=out)
    return EXIT_NOT_READY if report.failed else EXIT_READY


def _system_secrets(config: Config, env: Mapping[str, str]) -> list[str]:
    return [env[s.password_env] for s in config.systems if s.password_env and env.get(s.password_env)]
