"""Loading the configuration: find the file, read its TOML, run every section reader, report all problems.

Secrets and system credentials come from the environment, never from the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config.model import Config, ConfigError, SystemSettings
from bot.config.readers.alerts import read_alerts, read_digest
from bot.config.readers.checks import read_checks
from bot.config.readers.roles import read_approval_limits, read_approvals, read_roles
from bot.config.readers.runtime import read_http, read_log_level, read_scheduler, read_storage
from bot.config.readers.slack import read_slack
from bot.config.readers.systems import read_systems
from bot.config.readers.trace import read_trace
from bot.config.validation import Problems, Section

DEFAULT_CONFIG_PATH = "warden.toml"
CONFIG_ENV_VAR = "WARDEN_CONFIG"
EXAMPLE_CONFIG_NAME = "warden.example.toml"


def find_example_config() -> Path:
    """The commented example configuration shipped inside the package (bot/warden.example.toml)."""
    return Path(__file__).parent.with_name(EXAMPLE_CONFIG_NAME)


def resolve_config_path(explicit: str | Path | None, env: Mapping[str, str] = os.environ) -> Path:
    """--config wins, then WARDEN_CONFIG, then warden.toml in the working directory."""
    if explicit is not None and str(explicit).strip():
        return Path(explicit).expanduser()
    from_env = env.get(CONFIG_ENV_VAR, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return Path(DEFAULT_CONFIG_PATH)


def load_config(
    path: str | Path | None = None, env: Mapping[str, str] = os.environ, roles: Mapping[str, list[str]] | None = None
) -> Config:
    """Read and validate the configuration file; raise ConfigError listing every problem. `roles` replaces lists of
    [roles] (the demo's WARDEN_DEMO_OPERATORS and WARDEN_DEMO_APPROVERS)."""
    config_path = resolve_config_path(path, env)
    data = _read_toml(config_path)
    if roles:
        data = {**data, "roles": {**data.get("roles", {}), **roles}}
    return config_from_data(config_path, data)


def config_from_data(path: Path, data: Mapping[str, Any]) -> Config:
    """Validate TOML already read (`path` names it in the problems); raise ConfigError listing every problem."""
    problems = Problems(str(path))
    config = _build_config(path, data, problems)
    if problems.lines:
        raise ConfigError(problems.lines)
    return config


def system_credentials(system: SystemSettings, env: Mapping[str, str] = os.environ) -> tuple[str | None, str | None]:
    """The user profile and password of a system, from the variables named by user_env/password_env.

    (None, None) when the system names no variables (for example DSN=*LOCAL on IBM i itself).
    """
    if system.user_env is None and system.password_env is None:
        return None, None
    missing = [
        f"system {system.name}: environment variable {name} ({key}) is not set; "
        f"expected it to hold the {what} the bot signs on with"
        for name, what, key in (
            (system.user_env, "user profile", "user_env"),
            (system.password_env, "password", "password_env"),
        )
        if name is not None and not env.get(name)
    ]
    if missing:
        raise ConfigError(missing)
    user = env[system.user_env] if system.user_env else None
    password = env[system.password_env] if system.password_env else None
    return user, password


def _read_toml(path: Path) -> dict[str, Any]:
    def fail(text: str) -> ConfigError:
        return ConfigError([f"{path}: {text}"])

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(
            f"no such file; pass --config or set {CONFIG_ENV_VAR} "
            f"(start from the commented example bot/{EXAMPLE_CONFIG_NAME})"
        ) from None
    except IsADirectoryError:
        raise fail("is a folder; expected a TOML file") from None
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror}); expected a readable TOML file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"byte {exc.start} is not UTF-8; expected a UTF-8 TOML file") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", str(exc))
        where, what = (f"line {match[2]}, column {match[3]}", match[1]) if match else ("", str(exc))
        raise fail(f"{where}: not valid TOML: {what}" if where else f"not valid TOML: {what}") from None


def _build_config(path: Path, data: Mapping[str, Any], problems: Problems) -> Config:
    root = Section(
        problems,
        "",
        data,
        (
            "log_level",
            "slack",
            "roles",
            "approvals",
            "storage",
            "http",
            "scheduler",
            "systems",
            "checks",
            "alerts",
            "trace",
            "digest",
        ),
    )
    log_level = read_log_level(root)
    slack = read_slack(root)
    roles = read_roles(root)
    approvals = read_approvals(root, roles)
    approval_limits = read_approval_limits(root)
    storage = read_storage(root)
    http = read_http(root)
    scheduler = read_scheduler(root)
    systems = read_systems(root)
    checks = read_checks(root)
    alerts = read_alerts(root)
    trace = read_trace(root)
    digest = read_digest(root, slack)
    return Config(
        path=path,
        slack=slack,
        systems=systems,
        roles=roles,
        storage=storage,
        http=http,
        scheduler=scheduler,
        checks=checks,
        log_level=log_level,
        alerts=alerts,
        approvals=approvals,
        approval_limits=approval_limits,
        trace=trace,
        digest=digest,
    )
