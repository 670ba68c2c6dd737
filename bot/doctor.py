"""`ibmi-warden doctor`: a checklist of what the bot needs, one line per item, with a fix for each failure.

Items: the configuration, the ODBC driver (only when an ODBC system is configured), per system what its
profile can read (NETSTAT, the job view, output queues, the SMTP lists) and whether it may run approved
SMTP changes, Slack (the bot token and its scopes), and the audit key and anchor channel. Each item is
`ok`, `FAIL`, `WARN`, `unknown` or `skipped`; FAIL and WARN come with the fix. Nothing is changed anywhere:
only reads, and Slack's auth.test.

Exit status: 0 when everything the configuration needs holds (WARN and unknown allowed), 1 when an item
failed, 2 when the configuration cannot be loaded.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.config import Config, ConfigError, Secrets, SystemSettings, load_config
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.drivers.demo.seed import BOT_PROFILE as DEMO_BOT_PROFILE
from bot.ibmi.drivers.odbc import DRIVER_HELP, load_pyodbc
from bot.ibmi.errors import (
    ConnectionFailedError,
    DriverMissingError,
    IbmiError,
    NotAuthorizedError,
    QueryTimeoutError,
)
from bot.ibmi_settings import open_system
from bot.logging_setup import RedactingFilter

EXIT_READY, EXIT_NOT_READY, EXIT_NO_CONFIG = 0, 1, 2

OK, FAIL, WARN, UNKNOWN, SKIPPED = "ok", "FAIL", "WARN", "unknown", "skipped"

# The bot token scopes the code needs: the same list as app.json's oauth_config.scopes.bot (a test keeps
# them equal; app.json sits beside the package, not inside it).
BOT_SCOPES: tuple[str, ...] = ("chat:write", "commands", "usergroups:read")

IBM_I_ODBC_DRIVER = "IBM i Access ODBC Driver"
# The approval actions that run CHGSMTPA, ADDSMTPLE or RMVSMTPLE, which need *IOSYSCFG.
SMTP_ACTIONS: tuple[str, ...] = ("smtp-add", "smtp-remove", "relay-set")


@dataclass(frozen=True)
class Item:
    status: str  # OK, FAIL, WARN, UNKNOWN or SKIPPED
    name: str  # "DEMO: NETSTAT readable"
    detail: str = ""
    fix: str = ""
    more: tuple[str, ...] = ()  # further lines, e.g. each configuration problem


class Report:
    """Prints each item as soon as it is known (a slow sign-on shows where it waits) and counts them."""

    def __init__(self, out: TextIO, secrets: Sequence[str] = ()):
        self.out = out
        self.items: list[Item] = []
        self._redactor = RedactingFilter(secrets)

    def add(self, status: str, name: str, detail: str = "", fix: str = "", more: Sequence[str] = ()) -> Item:
        item = Item(status, name, detail, fix, tuple(more))
        self.items.append(item)
        lines = [f"  {status:<8}{name}" + (f" ({detail})" if detail else "")]
        lines += [f"          {line}" for line in item.more]
        if fix:
            lines.append(f"          {'fix' if status in (FAIL, WARN) else 'hint'}: {fix}")
        for line in lines:
            print(self._redactor.redact(line), file=self.out, flush=True)
        return item

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def failed(self) -> bool:
        return self.count(FAIL) > 0

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in (OK, FAIL, WARN, UNKNOWN, SKIPPED) if self.count(s))
        verdict = (
            "not ready: fix the FAIL items above"
            if self.failed
            else "ready: nothing the configuration needs is missing"
        )
        return f"{counts}\n{verdict}"


def run_doctor(
    config_path: str | Path | None,
    secrets: Secrets,
    env: Mapping[str, str] = os.environ,
    out: TextIO | None = None,
) -> int:
    """Run every item, print the checklist to `out` (standard output), and return the exit status."""
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
    check_odbc_driver(config, report)
    for system in config.systems:
        check_system(config, system, report, env)
    check_slack(config, secrets, report)
    check_audit_key(config, secrets, report)
    print(f"\n{report.summary()}", file=out)
    return EXIT_NOT_READY if report.failed else EXIT_READY


def _system_secrets(config: Config, env: Mapping[str, str]) -> list[str]:
    return [env[s.password_env] for s in config.systems if s.password_env and env.get(s.password_env)]


# --- ODBC ---------------------------------------------------------------------------------------------------


def check_odbc_driver(config: Config, report: Report, pyodbc_loader: Callable[[], Any] = load_pyodbc) -> None:
    if all(system.is_demo for system in config.systems):
        report.add(OK, "ODBC driver", "not needed: demo systems only")
        return
    try:
        pyodbc = pyodbc_loader()
    except DriverMissingError as error:
        report.add(FAIL, "ODBC driver", str(error).split(";")[0], fix=DRIVER_HELP)
        return
    drivers = list(pyodbc.drivers())
    if IBM_I_ODBC_DRIVER in drivers:
        report.add(OK, "ODBC driver", f"pyodbc {pyodbc.version}; {IBM_I_ODBC_DRIVER} registered with unixODBC")
        return
    registered = ", ".join(drivers) if drivers else "none"
    report.add(
        FAIL,
        "ODBC driver",
        f"{IBM_I_ODBC_DRIVER} is not registered with unixODBC (registered: {registered})",
        fix=DRIVER_HELP,
    )


# --- One IBM i ----------------------------------------------------------------------------------------------

T = TypeVar("T")


def _attempt(read: Callable[[], T]) -> tuple[T | None, IbmiError | None]:
    try:
        return read(), None
    except IbmiError as error:
        return None, error


def _error_text(error: BaseException) -> str:
    """The driver's message without the repeated "<system>: query failed: " prefix."""
    text = str(error)
    return text.split(" failed: ", 1)[1] if " failed: " in text else text


def bot_profile(system: SystemSettings, env: Mapping[str, str] = os.environ) -> str | None:
    """The user profile the bot signs on with: the demo's service profile, the user_env variable's value,
    or None when the system names no user (DSN=*LOCAL runs as the job's own profile)."""
    if system.is_demo:
        return DEMO_BOT_PROFILE
    if system.user_env and env.get(system.user_env):
        return env[system.user_env].strip().upper()
    return None


def _iosyscfg_fix(system: SystemSettings, profile: str | None) -> str:
    user = profile or "<the bot's profile>"
    fix = (
        f"grant *IOSYSCFG or authorise the profile to QIBM_IOSYSCFG_VIEW: "
        f"CHGFCNUSG FCNID(QIBM_IOSYSCFG_VIEW) USER({user}) USAGE(*ALLOWED)"
    )
    if system.demo is not None and "*IOSYSCFG" in system.demo.missing_authorities:
        fix += '; on the demo system: remove "*IOSYSCFG" from [systems.demo] missing_authorities'
    return fix


def check_system(config: Config, system: SystemSettings, report: Report, env: Mapping[str, str] = os.environ) -> None:
    name = system.name
    unset = [variable for variable in (system.user_env, system.password_env) if variable and not env.get(variable)]
    if unset:
        report.add(
            FAIL,
            f"{name}: credentials",
            f"{' and '.join(unset)} not set in the environment",
            fix=f"set {system.user_env} to the bot's user profile and {system.password_env} to its password "
            "in the bot's environment (user_env and password_env name them)",
        )
        return
    connection = open_system(system, env)
    try:
        _check_system(config, system, connection, report, env)
    finally:
        connection.close()


def _check_system(
    config: Config, system: SystemSettings, connection: SystemConnection, report: Report, env: Mapping[str, str]
) -> None:
    name = system.name
    profile = bot_profile(system, env)
    started = time.monotonic()
    connections, netstat_error = _attempt(lambda: sql.read_tcp_connections(connection))
    elapsed = time.monotonic() - started
    if isinstance(netstat_error, ConnectionFailedError | DriverMissingError | QueryTimeoutError):
        report.add(FAIL, f"{name}: reachable", _error_text(netstat_error), fix=_reach_fix(system, netstat_error))
        return
    where = f"demo system in {system.demo.path}" if system.demo is not None else "signed on"
    as_whom = f" as {profile}" if profile else ""
    report.add(OK, f"{name}: reachable", f"{where}{as_whom}; first statement answered in {elapsed * 1000:.0f} ms")
    report.add(UNKNOWN, f"{name}: IBM i release", "not read: the bot knows no documented service that returns it")

    if netstat_error is not None:
        fix = (
            _iosyscfg_fix(system, profile)
            if isinstance(netstat_error, NotAuthorizedError)
            else ("run the statement in ACS Run SQL Scripts as the bot's profile to see why it fails")
        )
        report.add(FAIL, f"{name}: NETSTAT readable", _error_text(netstat_error), fix=fix)
    else:
        rows = connections or []
        listening = sum(1 for row in rows if row.is_listening)
        if listening:
            report.add(
                OK,
                f"{name}: NETSTAT readable",
                f"{listening} listening socket{'s' if listening != 1 else ''}, "
                f"{sum(1 for row in rows if row.is_established)} established connections",
            )
        else:
            report.add(
                FAIL,
                f"{name}: NETSTAT readable",
                f"QSYS2.NETSTAT_INFO shows no listening socket among {len(rows)} rows: the profile cannot "
                "see the system's connections",
                fix=_iosyscfg_fix(system, profile),
            )

    jobs, jobs_error = _attempt(lambda: sql.read_connection_jobs(connection))
    if jobs_error is not None:
        report.add(
            WARN,
            f"{name}: NETSTAT_JOB_INFO readable",
            f"{_error_text(jobs_error)}; findings will lack the job and user of each connection",
            fix=_iosyscfg_fix(system, profile),
        )
    else:
        report.add(OK, f"{name}: NETSTAT_JOB_INFO readable", f"{len(jobs or [])} jobs on remote connections")

    _check_iosyscfg(config, system, connection, profile, report)
    _check_output_queues(system, connection, report)
    _check_smtp(config, system, connection, report)


def _reach_fix(system: SystemSettings, error: IbmiError) -> str:
    if isinstance(error, DriverMissingError):
        return DRIVER_HELP
    if system.is_demo:
        folder = system.demo.path if system.demo is not None else "the demo folder"
        return f"check that {folder} ([systems.demo] path) is a writable folder and not used by another program"
    if isinstance(error, QueryTimeoutError):
        return (
            f"the system answered no statement within query_timeout ({system.query_timeout:g}s): check its "
            "load, or raise query_timeout"
        )
    variables = (
        f"; that {system.user_env} and {system.password_env} hold a valid profile and password"
        if system.user_env
        else ""
    )
    return (
        f"check SYSTEM= (or the DSN) in the connection string, the network path to the host servers "
        f"(ports 449 and 8471, or 9471 with SSL=1){variables}; and, if the driver reports it, that "
        f"{IBM_I_ODBC_DRIVER} is installed"
    )


def _check_iosyscfg(
    config: Config, system: SystemSettings, connection: SystemConnection, profile: str | None, report: Report
) -> None:
    item = f"{system.name}: *IOSYSCFG for approved SMTP changes"
    possible = [action for action in SMTP_ACTIONS if config.policy(action).approvers]
    if not possible:
        report.add(OK, item, f"not needed: no one may approve {', '.join(SMTP_ACTIONS)}")
        return
    if profile is None:
        report.add(
            UNKNOWN,
            item,
            "the system names no user_env, so the bot signs on as the job's own profile, which the doctor cannot name",
        )
        return
    held, error = _attempt(lambda: sql.read_user_special_authorities(connection, profile))
    if error is not None:
        report.add(UNKNOWN, item, f"{profile}'s special authorities not readable: {_error_text(error)}")
        return
    if held is None:
        report.add(
            UNKNOWN, item, f"QSYS2.USER_INFO does not show {profile} (reading a profile needs *OBJOPR and *READ to it)"
        )
        return
    if "*IOSYSCFG" in held:
        report.add(OK, item, f"{profile} holds *IOSYSCFG")
        return
    holders, _ = _attempt(lambda: sql.read_special_authority_holders(connection, "*IOSYSCFG"))
    for holder in holders or []:
        groups = holder.inherited_authorities.get("*IOSYSCFG")
        if holder.name == profile and groups:
            report.add(OK, item, f"{profile} holds *IOSYSCFG through group {', '.join(groups)}")
            return
    keep = " ".join(sorted(held | {"*IOSYSCFG"}))
    report.add(
        FAIL,
        item,
        f"{profile} does not hold *IOSYSCFG, so approved {', '.join(possible)} requests will fail when they run",
        fix=(
            f"CHGUSRPRF USRPRF({profile}) SPCAUT({keep}) (SPCAUT replaces the list: keep what the profile "
            f"holds); or set approvers = [] under [approvals.{possible[0]}]"
            + (" and the other SMTP actions" if len(possible) > 1 else "")
            + " so SMTP changes cannot be requested"
            + (
                '; on the demo system: remove "*IOSYSCFG" from [systems.demo] missing_authorities'
                if system.demo is not None and "*IOSYSCFG" in system.demo.missing_authorities
                else ""
            )
        ),
    )


def _check_output_queues(system: SystemSettings, connection: SystemConnection, report: Report) -> None:
    item = f"{system.name}: output queues readable"
    fix = (
        "the profile needs *READ on the queues, *SPLCTL, or *JOBCTL with OPRCTL(*YES), with *EXECUTE on their "
        "libraries; *SPLCTL or *JOBCTL given only for this are themselves exposures"
    )
    queues, error = _attempt(lambda: sql.read_output_queues(connection))
    if error is not None:
        report.add(WARN, item, _error_text(error), fix=fix)
    elif not queues:
        report.add(WARN, item, "QSYS2.OUTPUT_QUEUE_INFO shows no output queue", fix=fix)
    else:
        report.add(OK, item, f"{len(queues)} visible; queues the profile cannot read are left out silently")


def _check_smtp(config: Config, system: SystemSettings, connection: SystemConnection, report: Report) -> None:
    options = config.check_for(system, "smtp-relay").options
    attested = options.get("attested_policy")
    if attested:
        by = f" by {options['attested_by']}" if options.get("attested_by") else ""
        report.add(
            UNKNOWN,
            f"{system.name}: SMTP relay policy",
            f"{sql.RELAY_POLICY_UNREADABLE}; attested in the configuration{by} as {attested}",
        )
    else:
        report.add(
            UNKNOWN,
            f"{system.name}: SMTP relay policy",
            sql.RELAY_POLICY_UNREADABLE,
            fix=f"check it on the system and set attested_policy (and attested_by) under "
            f"[systems.checks.smtp-relay] for {system.name}, or [checks.smtp-relay] for all systems",
        )
    lists, error = _attempt(lambda: sql.read_smtp_lists(connection))
    fix = (
        "reading the lists needs *READ to QUSRSYS/QATMADRLST and *USE to the CRTDDMF command "
        "(CREATE ALIAS over each member)"
    )
    item = f"{system.name}: SMTP lists readable"
    if error is not None:
        report.add(WARN, item, _error_text(error), fix=fix)
    elif lists is None or not lists.readable:
        report.add(WARN, item, (lists.problem if lists else None) or "not readable", fix=fix)
    else:
        count = len(lists.entries)
        report.add(OK, item, f"{count} entr{'ies' if count != 1 else 'y'} in members {', '.join(lists.members)}")


# --- Slack --------------------------------------------------------------------------------------------------


def check_slack(config: Config, secrets: Secrets, report: Report) -> None:
    if not secrets.slack_bot_token:
        report.add(SKIPPED, "Slack", "SLACK_BOT_TOKEN not set")
        return
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.slack_client import api_base_url, make_web_client

    client = make_web_client(secrets.slack_bot_token, secrets.slack_api_url)
    try:
        response = client.auth_test()
    except SlackApiError as error:
        reason = error.response.get("error") if error.response is not None else str(error)
        report.add(
            FAIL,
            "Slack: bot token",
            f"the token was refused: {reason}",
            fix="reinstall the app to the workspace and copy its bot token (xoxb-…) into SLACK_BOT_TOKEN",
        )
        return
    except (SlackClientError, OSError) as error:
        report.add(
            FAIL,
            "Slack: reachable",
            f"{api_base_url(secrets.slack_api_url)}: {error}",
            fix="check the network path (and proxy) to Slack, or SLACK_API_URL when it is set",
        )
        return
    team, user = response.get("team"), response.get("user")
    report.add(OK, "Slack: bot token", f"accepted: workspace {team}, bot user {user}")

    headers = {str(key).lower(): value for key, value in (response.headers or {}).items()}
    granted_header = headers.get("x-oauth-scopes")
    if isinstance(granted_header, list):
        granted_header = ",".join(granted_header)
    if granted_header is None:
        report.add(UNKNOWN, "Slack: scopes", "Slack did not report the token's scopes (no x-oauth-scopes header)")
    else:
        granted = {scope.strip() for scope in str(granted_header).split(",") if scope.strip()}
        missing = [scope for scope in BOT_SCOPES if scope not in granted]
        if missing:
            report.add(
                FAIL,
                "Slack: scopes",
                f"missing {', '.join(missing)}",
                fix=f"add {', '.join(missing)} to the app's bot token scopes (OAuth & Permissions, as in "
                "app.json), reinstall the app, and copy the new bot token into SLACK_BOT_TOKEN",
            )
        else:
            report.add(OK, "Slack: scopes", ", ".join(BOT_SCOPES))

    channels = list(
        dict.fromkeys(
            [config.slack.alerts_channel, config.slack.approvals_channel]
            + [route.channel for route in config.slack.routes]
            + ([config.slack.audit_channel] if config.slack.audit_channel else [])
        )
    )
    report.add(
        UNKNOWN,
        f"Slack: channels {', '.join(channels)}",
        "checked when the bot first posts: reading a channel needs channels:read, which the bot does not ask for",
        fix="invite the bot to each channel: /invite @ibmi-warden",
    )


def check_audit_key(config: Config, secrets: Secrets, report: Report) -> None:
    """WARDEN_AUDIT_KEY keys the audit chain; [slack] audit_channel anchors its head outside the host."""
    name = "audit log: WARDEN_AUDIT_KEY"
    make_key = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
    try:
        key = secrets.audit_key_bytes()
    except ConfigError as error:
        report.add(FAIL, name, error.problems[0], fix=f"set a longer key, e.g. the output of {make_key}")
        return
    if key is None:
        report.add(
            WARN,
            name,
            "not set: audit hashes are plain SHA-256, so anyone who can write the database can rewrite the whole log",
            fix=f"set WARDEN_AUDIT_KEY in the bot's environment (make one with {make_key}); see docs/deployment.md",
        )
    elif not config.slack.audit_channel:
        report.add(
            WARN,
            name,
            "set, but [slack] audit_channel is not: the audit head is not anchored outside this host",
            fix="set [slack] audit_channel to a channel only the security team can post in, and invite the bot",
        )
    else:
        report.add(OK, name, f"set; the audit head is anchored to {config.slack.audit_channel}")
