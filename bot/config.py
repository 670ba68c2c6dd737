"""Settings: one TOML file plus secrets from the environment (never from the file).

The dataclasses below are the contract the rest of the bot reads. `load_config` fills them
and reports every problem at once, naming the file, the key and what is accepted.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import ipaddress
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.net import AddressProblem, parse_typed_network

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_CONFIG_PATH = "warden.toml"
CONFIG_ENV_VAR = "WARDEN_CONFIG"
EXAMPLE_CONFIG_NAME = "warden.example.toml"

# The checks a [checks.<id>] table may configure. Add a check's id here when adding the check.
# The checks this version implements (bot/checks registers each); a [checks.<id>] table for any
# other id is an error rather than a setting that silently does nothing.
CHECK_IDS: tuple[str, ...] = ("unknown-connections", "plaintext-services", "smtp-relay", "splctl-exposure")
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_CHECK_INTERVAL = 10.0
# The changes a request can ask for, each with its own [approvals.<action>] policy table.
APPROVAL_ACTIONS: tuple[str, ...] = ("end-connection", "smtp-add", "smtp-remove", "relay-set", "trust", "untrust")
# How the tracer finds an address's registry (ipwhois asn_methods); "http" works where DNS and port 43 are blocked.
TRACE_ASN_METHODS: tuple[str, ...] = ("http", "dns", "whois")
MAX_TRACE_CONCURRENCY = 16


class ConfigError(Exception):
    """The configuration is wrong. `problems` lists every problem, each naming file and key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")  # lowest first


@dataclass(frozen=True)
class Route:
    """Alerts of at least `min_severity` go to `channel`."""

    channel: str
    min_severity: str = "info"


# Where each check's runbook (docs/checks/<id>.md) is published; an alert links to <base><id>.md.
DEFAULT_RUNBOOK_BASE_URL = "https://github.com/ibmi-warden/ibmi-warden/blob/main/docs/checks/"


@dataclass(frozen=True)
class SlackSettings:
    alerts_channel: str
    approvals_channel: str
    command: str = "/ibmi"
    routes: tuple[Route, ...] = ()  # empty: every alert goes to alerts_channel
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL  # https://…/ ending in "/"; alerts link to <base><check>.md

    @property
    def alert_routes(self) -> tuple[Route, ...]:
        return self.routes or (Route(self.alerts_channel, "info"),)


@dataclass(frozen=True)
class AlertSettings:
    repeat_interval: float = 86400.0  # seconds before a still-open alert gets a reminder in its thread
    resolve_after: int = 1  # consecutive clean runs before an alert is resolved


@dataclass(frozen=True)
class DigestSettings:
    """The daily digest: one message a day summarising open findings and the last 24 hours."""

    enabled: bool = False
    time: str = "08:00"  # "HH:MM", 24-hour clock, in `timezone`
    timezone: str = "UTC"  # an IANA time zone name
    channel: str | None = None  # None: the alerts channel

    @property
    def hour(self) -> int:
        return int(self.time.split(":")[0])

    @property
    def minute(self) -> int:
        return int(self.time.split(":")[1])


@dataclass(frozen=True)
class RoleSettings:
    """Slack user ids (U…/W…) or @usergroup handles. Empty viewers means anyone may view."""

    viewers: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who may decide one kind of change, how many must approve, and how long a request waits.

    `approvers` are Slack user ids or @usergroup handles; empty means no one may approve (the action is
    refused). The requester never counts towards `min_approvals`.
    """

    approvers: tuple[str, ...] = ()
    min_approvals: int = 1
    ttl: float = 3600.0  # seconds a request waits for its decision before it expires
    reason_required: bool = True  # a request must say why


@dataclass(frozen=True)
class TraceSettings:
    """Looking up who owns an address (RDAP)."""

    ttl: float = 7 * 86400.0  # seconds an owner stays cached
    timeout: float = 5.0  # seconds per lookup step
    asn_methods: tuple[str, ...] = ("http",)  # in the order ipwhois tries them
    max_concurrent: int = 4  # lookups at a time


@dataclass(frozen=True)
class StorageSettings:
    path: Path = Path("warden.db")


# Special authorities the demo can take away from the bot's profile, to show what a missing one does.
DEMO_REMOVABLE_AUTHORITIES: tuple[str, ...] = ("*IOSYSCFG", "*SPLCTL", "*JOBCTL", "*ALLOBJ")


@dataclass(frozen=True)
class DemoSettings:
    """How the embedded demo IBM i behaves (only for `connection = "demo"`)."""

    path: Path = Path("demo-ibmi")  # folder holding one SQLite file per library
    latency: float = 0.0  # seconds added to every statement
    traffic: bool = False  # let connections arrive and leave over time
    traffic_interval: float = 60.0  # seconds between traffic changes
    seed: int = 1
    # Special authorities the bot's demo profile lacks (each one of DEMO_REMOVABLE_AUTHORITIES); the demo
    # then refuses what IBM i refuses such a profile (without *IOSYSCFG: NETSTAT on 7.6, SMTP changes).
    missing_authorities: tuple[str, ...] = ()


@dataclass(frozen=True)
class SystemSettings:
    name: str
    connection: str  # "demo", an ODBC connection string, or "DSN=…"
    trusted: tuple[IPNetwork, ...] = ()
    user_env: str | None = None  # name of the environment variable holding the user profile
    password_env: str | None = None  # name of the environment variable holding the password
    login_timeout: float = 10.0
    query_timeout: float = 30.0
    demo: DemoSettings | None = None
    checks: Mapping[str, CheckOverride] = field(default_factory=dict)

    @property
    def is_demo(self) -> bool:
        return self.connection == "demo"


@dataclass(frozen=True)
class CheckSettings:
    enabled: bool = True
    interval: float | None = None  # seconds; None = the check's default
    options: Mapping[str, Any] = field(default_factory=dict)  # the check's own keys, validated by the check


@dataclass(frozen=True)
class CheckOverride:
    """A system's [systems.checks.<id>] table: whatever it sets replaces the [checks.<id>] value."""

    enabled: bool | None = None
    interval: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: Path
    slack: SlackSettings
    systems: tuple[SystemSettings, ...]
    roles: RoleSettings = field(default_factory=RoleSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    checks: Mapping[str, CheckSettings] = field(default_factory=dict)
    log_level: str = "INFO"
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # One resolved policy per action in APPROVAL_ACTIONS; actions left out get the defaults with [roles].approvers.
    approvals: Mapping[str, ApprovalPolicy] = field(default_factory=dict)
    trace: TraceSettings = field(default_factory=TraceSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.approvals) - set(APPROVAL_ACTIONS))
        if unknown:
            raise ValueError(f"approvals for unknown actions {unknown}; expected only {', '.join(APPROVAL_ACTIONS)}")
        default = ApprovalPolicy(approvers=self.roles.approvers)
        resolved = {action: self.approvals.get(action, default) for action in APPROVAL_ACTIONS}
        object.__setattr__(self, "approvals", resolved)

    def policy(self, action: str) -> ApprovalPolicy:
        """The approval policy of one action (one of APPROVAL_ACTIONS); KeyError for any other."""
        if action not in APPROVAL_ACTIONS:
            raise KeyError(action)
        return self.approvals[action]

    def system(self, name: str) -> SystemSettings:
        for system in self.systems:
            if system.name.upper() == name.upper():
                return system
        raise KeyError(name)

    def check(self, check_id: str) -> CheckSettings:
        """The settings of one check; defaults when the file has no [checks.<id>] table."""
        return self.checks.get(check_id, CheckSettings())

    def check_for(self, system: SystemSettings, check_id: str) -> CheckSettings:
        """One check's settings for one system: [checks.<id>] with the system's override on top."""
        return merge_check(self.check(check_id), system.checks.get(check_id))


def merge_check(base: CheckSettings, override: CheckOverride | None) -> CheckSettings:
    if override is None:
        return base
    return CheckSettings(
        enabled=base.enabled if override.enabled is None else override.enabled,
        interval=override.interval or base.interval,
        options={**base.options, **override.options},
    )


@dataclass(frozen=True)
class Secrets:
    """Secrets come only from the environment. repr() never shows them."""

    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Secrets:
        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        return cls(
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_api_url=get("SLACK_API_URL"),
        )

    def values(self) -> list[str]:
        """Every secret value, for log redaction."""
        return [v for v in (self.slack_bot_token, self.slack_app_token, self.slack_signing_secret) if v]


# ---------------------------------------------------------------------------------------------
# Loading


def find_example_config() -> Path:
    """The commented example configuration shipped inside the package."""
    return Path(__file__).with_name(EXAMPLE_CONFIG_NAME)


def resolve_config_path(explicit: str | Path | None, env: Mapping[str, str] = os.environ) -> Path:
    """--config wins, then WARDEN_CONFIG, then warden.toml in the working directory."""
    if explicit is not None and str(explicit).strip():
        return Path(explicit).expanduser()
    from_env = env.get(CONFIG_ENV_VAR, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return Path(DEFAULT_CONFIG_PATH)


def load_config(path: str | Path | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Read and validate the configuration file; raise ConfigError listing every problem."""
    config_path = resolve_config_path(path, env)
    data = _read_toml(config_path)
    problems = _Problems(str(config_path))
    config = _build_config(config_path, data, problems)
    if problems.lines:
        raise ConfigError(problems.lines)
    return config


_DURATION_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = re.compile(
    rf"(?:(?P<d>{_DURATION_NUMBER})d)?(?:(?P<h>{_DURATION_NUMBER})h)?"
    rf"(?:(?P<m>{_DURATION_NUMBER})m)?(?:(?P<s>{_DURATION_NUMBER})s)?"
)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
DURATION_FORM = "a number with a unit: '30s', '5m', '1h', '1d', or combined like '1h30m'"


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "30s", "5m", "1h", "1d" or "1h30m". Bare numbers are rejected."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; expected {DURATION_FORM}")
    return sum(float(amount) * _UNIT_SECONDS[unit] for unit, amount in match.groupdict().items() if amount)


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


# ---------------------------------------------------------------------------------------------
# Validation: every reader records problems and carries on, so one run reports them all.


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: list[str] = []

    def add(self, key: str, text: str) -> None:
        self.lines.append(f"{self.file}: {key}: {text}")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return "a date or time"
    return f"a {type(value).__name__}"


def _unknown_key_text(key: str, accepted: Sequence[str], noun: str) -> str:
    close = difflib.get_close_matches(key, accepted, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {noun}{hint}; expected one of {', '.join(accepted)}"


class _Section:
    """One TOML table: its key path, its values, and the problems found while reading it."""

    def __init__(
        self,
        problems: _Problems,
        path: str,
        data: Mapping[str, Any],
        accepted: Sequence[str],
        noun: str = "key",
    ) -> None:
        self.problems = problems
        self.path = path
        self.data = data
        for key in data:
            if key not in accepted:
                problems.add(self.key(key), _unknown_key_text(key, accepted, noun))

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, text: str) -> None:
        self.problems.add(self.key(name), text)

    def has(self, name: str) -> bool:
        return name in self.data

    def typed(self, name: str, kind: type, type_name: str, form: str | None = None, required: bool = False) -> Any:
        """The value if present and of the right TOML type; otherwise None (and a problem, if wrong)."""
        if name not in self.data:
            if required:
                self.problem(name, f"missing; expected {form or type_name}")
            return None
        value = self.data[name]
        if not _is_kind(value, kind):
            self.problem(name, _wrong_type_text(value, type_name, form))
            return None
        return value

    def string(
        self,
        name: str,
        form: str | None = None,
        required: bool = False,
        check: Callable[[str], str | None] | None = None,
    ) -> str | None:
        value = self.typed(name, str, "a string", form, required)
        if value is None:
            return None
        trouble = check(value) if check else None
        if trouble:
            self.problem(name, trouble)
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        return self.typed(name, bool, "a boolean", "true or false")

    def integer(self, name: str) -> int | None:
        return self.typed(name, int, "an integer")

    def duration(self, name: str, default: float, minimum: float, exclusive: bool = False) -> float:
        seconds = self.optional_duration(name, minimum, exclusive)
        return default if seconds is None else seconds

    def optional_duration(self, name: str, minimum: float, exclusive: bool = False) -> float | None:
        """Seconds if the key is present and valid; None when it is absent (or wrong, with a problem)."""
        text = self.typed(name, str, "a string", "a duration like '30s', '5m' or '1h30m'")
        if text is None:
            return None
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            self.problem(name, str(exc))
            return None
        if seconds < minimum or (exclusive and seconds == minimum):
            bound = "more than" if exclusive else "at least"
            self.problem(name, f"{text!r} is too short; expected a duration of {bound} {_seconds_text(minimum)}")
            return None
        return seconds

    def ranged_integer(self, name: str, minimum: int, maximum: int | None = None) -> int | None:
        """The integer if present and within [minimum, maximum]; otherwise None (and a problem, if wrong)."""
        value = self.integer(name)
        if value is None:
            return None
        if value < minimum or (maximum is not None and value > maximum):
            expected = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            self.problem(name, f"{value} is out of range; expected a whole number {expected}")
            return None
        return value

    def strings(self, name: str, item_form: str) -> Iterator[tuple[str, str]]:
        """(key path, value) for each string of an array, in order; a problem for anything else."""
        value = self.typed(name, list, "an array", f"strings, each {item_form}")
        for index, item in enumerate(value or []):
            key = f"{self.key(name)}[{index}]"
            if isinstance(item, str):
                yield key, item
            else:
                self.problems.add(key, _wrong_type_text(item, "a string", item_form))

    def table(self, name: str, accepted: Sequence[str], required: bool = False, noun: str = "key") -> _Section | None:
        form = f"[{self.key(name)}] with {', '.join(accepted)}"
        value = self.typed(name, dict, "a table", form, required)
        if value is None:
            return None
        return _Section(self.problems, self.key(name), value, accepted, noun)


def _seconds_text(seconds: float) -> str:
    """A minimum as the file would write it: 60 → '1m', 10 → '10s'."""
    for unit in ("d", "h", "m"):
        amount = seconds / _UNIT_SECONDS[unit]
        if seconds and amount == int(amount):
            return f"{int(amount)}{unit}"
    return f"{seconds:g}s"


def _is_kind(value: object, kind: type) -> bool:
    # TOML booleans are Python bools, which are also ints: keep them apart.
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, kind)


def _wrong_type_text(value: object, type_name: str, form: str | None) -> str:
    accepted = f" (accepted: {form})" if form else ""
    return f"expected {type_name}, got {_kind(value)}{accepted}"


_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
_CHANNEL_NAME = re.compile(r"#[a-z0-9_-]{1,80}")
_SLASH_COMMAND = re.compile(r"/[a-z0-9_-]{1,31}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_USERGROUP = re.compile(r"@[a-z0-9._-]{1,80}")
_SYSTEM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_CREDENTIAL_KEY = re.compile(r"(?:^|;)\s*(?:UID|USERID|PWD|PASSWORD)\s*=", re.IGNORECASE)
_DRIVER_OR_DSN = re.compile(r"(?:^|;)\s*(?:DRIVER|DSN)\s*=\s*[^;\s]", re.IGNORECASE)

CHANNEL_FORM = "a channel id like 'C0123ALERTS' or a name like '#security-alerts'"
ROLE_MEMBER_FORM = "a Slack user id like 'U01ABCDEF' or a user group handle like '@security-team'"
CONNECTION_FORM = (
    '"demo", an ODBC connection string like '
    "'DRIVER={IBM i Access ODBC Driver};SYSTEM=ibmi.example.com;SSL=1', "
    "or 'DSN=<name>' ('DSN=*LOCAL' when running on IBM i)"
)
NETWORK_FORM = "CIDR like '10.0.0.0/8' or an address like '192.0.2.7'"


def _pattern_check(pattern: re.Pattern[str], what: str, form: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if pattern.fullmatch(value) else f"{value!r} is not {what}; expected {form}"

    return check


def _not_empty(form: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value.strip() else f"is empty; expected {form}"

    return check


def _check_channel(value: str) -> str | None:
    if _CHANNEL_ID.fullmatch(value) or _CHANNEL_NAME.fullmatch(value):
        return None
    return f"{value!r} is not a Slack channel; expected {CHANNEL_FORM}"


def _check_connection(value: str) -> str | None:
    if value == "demo":
        return None
    if _CREDENTIAL_KEY.search(value):
        # The value holds a password: never repeat it.
        return (
            "contains credentials (UID=/PWD=); expected a connection string without them: "
            "the user and password come from the environment variables named by user_env and password_env"
        )
    if _DRIVER_OR_DSN.search(value):
        return None
    return f"{value!r} is not a connection; expected {CONNECTION_FORM}"


def _build_config(path: Path, data: Mapping[str, Any], problems: _Problems) -> Config:
    root = _Section(
        problems,
        "",
        data,
        ("log_level", "slack", "roles", "approvals", "storage", "systems", "checks", "alerts", "trace", "digest"),
    )
    log_level = _read_log_level(root)
    slack = _read_slack(root)
    roles = _read_roles(root)
    approvals = _read_approvals(root, roles)
    storage = _read_storage(root)
    systems = _read_systems(root)
    checks = _read_checks(root)
    alerts = _read_alerts(root)
    trace = _read_trace(root)
    digest = _read_digest(root, slack)
    return Config(
        path=path,
        slack=slack,
        systems=systems,
        roles=roles,
        storage=storage,
        checks=checks,
        log_level=log_level,
        alerts=alerts,
        approvals=approvals,
        trace=trace,
        digest=digest,
    )


def _read_log_level(root: _Section) -> str:
    expected = f"one of {', '.join(LOG_LEVELS)}"
    level = root.string("log_level", expected)
    if level is None:
        return "INFO"
    if level.upper() not in LOG_LEVELS:
        root.problem("log_level", f"{level!r} is not a log level; expected {expected}")
        return "INFO"
    return level.upper()


def _read_slack(root: _Section) -> SlackSettings:
    section = root.table(
        "slack", ("alerts_channel", "approvals_channel", "command", "routes", "runbook_base_url"), required=True
    )
    if section is None:
        return SlackSettings(alerts_channel="", approvals_channel="")
    alerts = section.string("alerts_channel", CHANNEL_FORM, required=True, check=_check_channel)
    approvals = section.string("approvals_channel", CHANNEL_FORM, required=True, check=_check_channel)
    command = section.string(
        "command",
        "a slash command like '/ibmi'",
        check=_pattern_check(_SLASH_COMMAND, "a slash command", "'/' and up to 31 of a-z 0-9 _ -, like '/ibmi'"),
    )
    runbook_base_url = section.string("runbook_base_url", RUNBOOK_BASE_URL_FORM, check=_check_runbook_base_url)
    return SlackSettings(
        alerts_channel=alerts or "",
        approvals_channel=approvals or "",
        command=command or "/ibmi",
        routes=_read_routes(section),
        runbook_base_url=runbook_base_url or DEFAULT_RUNBOOK_BASE_URL,
    )


RUNBOOK_BASE_URL_FORM = f"an https:// address ending in '/', like '{DEFAULT_RUNBOOK_BASE_URL}'"


def _check_runbook_base_url(value: str) -> str | None:
    """An https:// URL ending in "/", without spaces or characters that would break a Slack link (<url|text>)."""
    if (
        value.startswith("https://")
        and value.endswith("/")
        and len(value) > len("https://") + 1
        and value.isascii()
        and not any(ch.isspace() or ch in "<>|" for ch in value)
    ):
        return None
    return f"{value!r} is not a runbook base address; expected {RUNBOOK_BASE_URL_FORM}"


SEVERITY_FORM = f"one of {', '.join(SEVERITIES)}"


def _read_routes(slack: _Section) -> tuple[Route, ...]:
    entries = slack.typed("routes", list, "an array of tables", "[[slack.routes]] tables with channel, min_severity")
    routes = []
    for index, entry in enumerate(entries or []):
        key = f"{slack.key('routes')}[{index}]"
        if not isinstance(entry, dict):
            slack.problems.add(key, _wrong_type_text(entry, "a table", "a [[slack.routes]] table"))
            continue
        section = _Section(slack.problems, key, entry, ("channel", "min_severity"))
        channel = section.string("channel", CHANNEL_FORM, required=True, check=_check_channel)
        severity = section.string(
            "min_severity",
            SEVERITY_FORM,
            check=lambda v: None if v in SEVERITIES else f"{v!r} is not a severity; expected {SEVERITY_FORM}",
        )
        if channel:
            routes.append(Route(channel, severity or "info"))
    return tuple(routes)


def _read_alerts(root: _Section) -> AlertSettings:
    section = root.table("alerts", ("repeat_interval", "resolve_after"))
    if section is None:
        return AlertSettings()
    resolve_after = section.integer("resolve_after")
    if resolve_after is not None and resolve_after < 1:
        section.problem("resolve_after", f"{resolve_after} is too small; expected a whole number of runs, at least 1")
        resolve_after = None
    return AlertSettings(
        repeat_interval=section.duration("repeat_interval", AlertSettings.repeat_interval, 60.0),
        resolve_after=resolve_after or AlertSettings.resolve_after,
    )


_DIGEST_TIME = re.compile(r"(\d{1,2}):(\d{2})")
DIGEST_TIME_FORM = 'a 24-hour time "HH:MM" like "08:00"'
TIMEZONE_FORM = 'an IANA time zone name like "Europe/Paris" or "UTC"'


def _check_digest_time(value: str) -> str | None:
    match = _DIGEST_TIME.fullmatch(value.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return f"{value!r} is not a time of day; expected {DIGEST_TIME_FORM}"
    return None


def _check_timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"{value!r} is not a known time zone; expected {TIMEZONE_FORM}"
    return None


def _read_digest(root: _Section, slack: SlackSettings) -> DigestSettings:
    section = root.table("digest", ("enabled", "time", "timezone", "channel"))
    if section is None:
        return DigestSettings(channel=slack.alerts_channel or None)
    enabled = section.boolean("enabled")
    time = section.string("time", DIGEST_TIME_FORM, check=_check_digest_time)
    timezone = section.string("timezone", TIMEZONE_FORM, check=_check_timezone)
    channel = section.string("channel", CHANNEL_FORM, check=_check_channel)
    if time is not None:
        hour, minute = time.strip().split(":")
        time = f"{int(hour):02d}:{minute}"
    return DigestSettings(
        enabled=bool(enabled),
        time=time or DigestSettings.time,
        timezone=timezone or DigestSettings.timezone,
        channel=channel or slack.alerts_channel or None,
    )


def _read_members(section: _Section, name: str) -> tuple[str, ...]:
    """A list of Slack user ids and @usergroup handles; a problem for each other entry."""
    valid = []
    for key, value in section.strings(name, ROLE_MEMBER_FORM):
        if _USER_ID.fullmatch(value) or _USERGROUP.fullmatch(value):
            valid.append(value)
        else:
            problem = f"{value!r} is not a Slack user id or user group; expected {ROLE_MEMBER_FORM}"
            section.problems.add(key, problem)
    return tuple(valid)


def _read_roles(root: _Section) -> RoleSettings:
    section = root.table("roles", ("viewers", "operators", "approvers"))
    if section is None:
        return RoleSettings()
    return RoleSettings(
        viewers=_read_members(section, "viewers"),
        operators=_read_members(section, "operators"),
        approvers=_read_members(section, "approvers"),
    )


_POLICY_KEYS = ("approvers", "min_approvals", "ttl", "reason_required")
MIN_APPROVAL_TTL = 60.0


@dataclass
class _PolicyValues:
    """The policy keys one table sets (None: not set there), and the key path of each value set."""

    approvers: tuple[str, ...] | None = None
    min_approvals: int | None = None
    ttl: float | None = None
    reason_required: bool | None = None
    where: dict[str, str] = field(default_factory=dict)


def _read_policy_values(section: _Section) -> _PolicyValues:
    values = _PolicyValues(
        approvers=_read_members(section, "approvers") if section.has("approvers") else None,
        min_approvals=section.ranged_integer("min_approvals", 1),
        ttl=section.optional_duration("ttl", MIN_APPROVAL_TTL),
        reason_required=section.boolean("reason_required"),
    )
    values.where = {name: section.key(name) for name in _POLICY_KEYS if getattr(values, name) is not None}
    return values


def _read_approvals(root: _Section, roles: RoleSettings) -> dict[str, ApprovalPolicy]:
    """One policy per action: [approvals.<action>] over [approvals] over the defaults ([roles].approvers, 1, 60m,
    reason required)."""
    builtin = _PolicyValues(
        approvers=roles.approvers,
        min_approvals=1,
        ttl=ApprovalPolicy.ttl,
        reason_required=True,
        where={"approvers": "roles.approvers"},
    )
    section = root.table("approvals", _POLICY_KEYS + APPROVAL_ACTIONS, noun="key or action")
    shared = _read_policy_values(section) if section is not None else _PolicyValues()
    policies: dict[str, ApprovalPolicy] = {}
    unmet: dict[str, str] = {}  # problems by key, so one shared mistake is reported once
    for action in APPROVAL_ACTIONS:
        table = section.table(action, _POLICY_KEYS) if section is not None else None
        own = _read_policy_values(table) if table is not None else _PolicyValues()
        layers = (own, shared, builtin)

        def pick(name: str, layers: tuple[_PolicyValues, ...] = layers) -> tuple[Any, str | None]:
            for layer in layers:
                value = getattr(layer, name)
                if value is not None:
                    return value, layer.where.get(name)
            raise AssertionError(name)  # the built-in layer sets every key

        approvers, approvers_at = pick("approvers")
        min_approvals, min_at = pick("min_approvals")
        ttl, _ = pick("ttl")
        reason_required, _ = pick("reason_required")
        policies[action] = ApprovalPolicy(
            approvers=approvers, min_approvals=min_approvals, ttl=ttl, reason_required=reason_required
        )
        problem = _unmet_policy(approvers, approvers_at, min_approvals, min_at)
        if problem is not None:
            unmet.setdefault(*problem)
    for key, text in unmet.items():
        root.problems.add(key, text)
    return policies


def _unmet_policy(
    approvers: tuple[str, ...], approvers_at: str | None, min_approvals: int, min_at: str | None
) -> tuple[str, str] | None:
    """(key, problem) when only listed user ids may approve and there are fewer than min_approvals of them.

    Empty approvers are no problem: nobody may approve that action, so it cannot be requested. A user group's
    size is known only at run time, so a list with a handle is never reported.
    """
    users = len(set(approvers))
    if not approvers or any(member.startswith("@") for member in approvers) or min_approvals <= users:
        return None
    where_min = min_at or "the default"
    where_approvers = approvers_at or "the default"

    def rank(key: str) -> int:  # the most specific table is where the two values were brought together
        return 0 if key.startswith("roles.") else key.count(".")

    key = max((k for k in (min_at, approvers_at) if k), key=rank)
    ids = f"{users} user id{'s' if users != 1 else ''}"
    required = f"{min_approvals}" if key == min_at else f"min_approvals = {min_approvals} ({where_min})"
    return key, (
        f"{required} can never be met: approvers ({where_approvers}) lists only {ids} and no @usergroup; "
        f"expected min_approvals of at most {users}, or more approvers"
    )


def _read_trace(root: _Section) -> TraceSettings:
    section = root.table("trace", ("ttl", "timeout", "asn_methods", "max_concurrent"))
    if section is None:
        return TraceSettings()
    return TraceSettings(
        ttl=section.duration("ttl", TraceSettings.ttl, 60.0),
        timeout=section.duration("timeout", TraceSettings.timeout, 0.0, exclusive=True),
        asn_methods=_read_asn_methods(section),
        max_concurrent=section.ranged_integer("max_concurrent", 1, MAX_TRACE_CONCURRENCY)
        or TraceSettings.max_concurrent,
    )


def _read_asn_methods(section: _Section) -> tuple[str, ...]:
    form = f"one of {', '.join(TRACE_ASN_METHODS)}"
    if not section.has("asn_methods"):
        return TraceSettings.asn_methods
    methods: list[str] = []
    valid = True
    for key, value in section.strings("asn_methods", form):
        if value not in TRACE_ASN_METHODS:
            section.problems.add(key, f"{value!r} is not an ASN method; expected {form}")
            valid = False
        elif value in methods:
            section.problems.add(key, f"{value!r} is listed twice; expected each method once")
            valid = False
        else:
            methods.append(value)
    if section.data["asn_methods"] == []:
        section.problem("asn_methods", f'is empty; expected at least one method, each {form} (default: ["http"])')
    return tuple(methods) if valid and methods else TraceSettings.asn_methods


def _read_storage(root: _Section) -> StorageSettings:
    section = root.table("storage", ("path",))
    if section is None:
        return StorageSettings()
    expected = "a file path like 'warden.db'"
    path = section.string("path", expected, check=_not_empty(expected))
    return StorageSettings(path=Path(path)) if path else StorageSettings()


_SYSTEM_KEYS = (
    "name",
    "connection",
    "trusted",
    "user_env",
    "password_env",
    "login_timeout",
    "query_timeout",
    "demo",
    "checks",
)
_DEMO_KEYS = ("path", "latency", "traffic", "traffic_interval", "seed", "missing_authorities")


def _read_systems(root: _Section) -> tuple[SystemSettings, ...]:
    entries = root.typed("systems", list, "an array of tables", "at least one [[systems]] table", required=True)
    if entries is None:
        return ()
    if not entries:
        root.problem("systems", "is empty; expected at least one [[systems]] table")
        return ()
    systems: list[SystemSettings] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        key = f"systems[{index}]"
        if not isinstance(entry, dict):
            root.problems.add(key, _wrong_type_text(entry, "a table", "a [[systems]] table"))
            continue
        system = _read_system(_Section(root.problems, key, entry, _SYSTEM_KEYS))
        if system.name:
            earlier = first_index.setdefault(system.name.upper(), index)
            if earlier != index:
                root.problems.add(
                    f"{key}.name",
                    f"{system.name!r} is already the name of systems[{earlier}]; "
                    "expected a unique name (case is ignored)",
                )
        systems.append(system)
    return tuple(systems)


def _read_system(section: _Section) -> SystemSettings:
    name = section.string(
        "name",
        "a name like 'PROD'",
        required=True,
        check=_pattern_check(
            _SYSTEM_NAME, "a system name", "a letter then up to 31 letters, digits, '_' or '-', like 'PROD'"
        ),
    )
    connection = section.string("connection", CONNECTION_FORM, required=True, check=_check_connection)
    trusted = tuple(
        network
        for key, text in section.strings("trusted", NETWORK_FORM)
        if (network := _parse_network(section.problems, key, text)) is not None
    )
    user_env, password_env = _read_credential_names(section)
    demo = _read_demo(section, section.data.get("connection"))
    return SystemSettings(
        name=name or "",
        connection=connection or "",
        trusted=trusted,
        user_env=user_env,
        password_env=password_env,
        login_timeout=section.duration("login_timeout", 10.0, 0.0, exclusive=True),
        query_timeout=section.duration("query_timeout", 30.0, 0.0, exclusive=True),
        demo=demo,
        checks=_read_check_overrides(section),
    )


def _parse_network(problems: _Problems, key: str, text: str) -> IPNetwork | None:
    """A trusted network, as bot.net reads what a person typed; None (and a problem) when it is refused."""
    try:
        return parse_typed_network(text, NETWORK_FORM)
    except AddressProblem as problem:
        if problem.kind == "host_bits":
            problems.add(key, f"{text} has host bits set; did you mean {problem.suggestion}?")
        elif problem.kind == "mapped":
            problems.add(key, f"{text!r} is an IPv4-mapped IPv6 network; expected {_ipv4_form_of(problem)}")
        elif problem.kind == "invalid":
            problems.add(key, f"{text!r} is not an IP network; expected {NETWORK_FORM}")
        else:
            problems.add(key, problem.message(repr).removesuffix("."))
        return None


def _ipv4_form_of(problem: AddressProblem) -> str:
    if problem.suggestion is None:
        return f"the IPv4 networks written in IPv4 form, like {NETWORK_FORM}"
    return f"the IPv4 form '{problem.suggestion}' instead (IPv4-mapped addresses are matched as IPv4)"


def _read_credential_names(section: _Section) -> tuple[str | None, str | None]:
    form = "an environment variable name like 'PROD_USER' (A-Z, 0-9, _)"
    check = _pattern_check(_ENV_NAME, "an environment variable name", form)
    user_env = section.string("user_env", form, check=check)
    password_env = section.string("password_env", form, check=check)
    for present, absent in (("user_env", "password_env"), ("password_env", "user_env")):
        if section.has(present) and not section.has(absent):
            section.problem(
                absent, f"missing while {present} is set; expected both user_env and password_env, or neither"
            )
    return user_env, password_env


def _read_demo(section: _Section, connection: object) -> DemoSettings | None:
    if not section.has("demo"):
        return DemoSettings() if connection == "demo" else None
    if isinstance(connection, str) and connection != "demo":
        section.problem("demo", 'is only allowed when connection = "demo"; expected no [systems.demo] table here')
        return None
    demo = section.table("demo", _DEMO_KEYS)
    if demo is None:
        return DemoSettings()
    expected_path = "a folder path like 'demo-ibmi'"
    path = demo.string("path", expected_path, check=_not_empty(expected_path))
    traffic = demo.boolean("traffic")
    seed = demo.integer("seed")
    return DemoSettings(
        path=Path(path) if path else DemoSettings.path,
        latency=demo.duration("latency", 0.0, 0.0),
        traffic=traffic if traffic is not None else False,
        traffic_interval=demo.duration("traffic_interval", 60.0, 0.0, exclusive=True),
        seed=seed if seed is not None else 1,
        missing_authorities=_read_missing_authorities(demo),
    )


def _read_missing_authorities(demo: _Section) -> tuple[str, ...]:
    form = f"one of {', '.join(DEMO_REMOVABLE_AUTHORITIES)}"
    missing: list[str] = []
    for key, value in demo.strings("missing_authorities", form):
        if value not in DEMO_REMOVABLE_AUTHORITIES:
            demo.problems.add(key, f"{value!r} is not a special authority the demo can take away; expected {form}")
        elif value in missing:
            demo.problems.add(key, f"{value!r} is listed twice; expected each authority once")
        else:
            missing.append(value)
    return tuple(missing)


def _check_tables(section: _Section) -> dict[str, _Section]:
    """The [<path>.checks.<id>] tables of a section, each with its known id."""
    if not section.has("checks"):
        return {}
    table = section.typed("checks", dict, "a table", "[checks.<id>] tables")
    if table is None:
        return {}
    checks_section = _Section(section.problems, section.key("checks"), table, CHECK_IDS, noun="check")
    tables = {}
    for check_id in table:
        if check_id in CHECK_IDS and isinstance(table[check_id], dict):
            tables[check_id] = _Section(
                section.problems, checks_section.key(check_id), table[check_id], tuple(table[check_id])
            )
        elif check_id in CHECK_IDS:
            checks_section.typed(check_id, dict, "a table", f"[{checks_section.key(check_id)}]")
    return tables


def _read_check_table(section: _Section, check_id: str) -> CheckOverride:
    enabled = section.boolean("enabled")
    interval = section.duration("interval", 0.0, MIN_CHECK_INTERVAL) if section.has("interval") else 0.0
    options = {key: value for key, value in section.data.items() if key not in ("enabled", "interval")}
    _validate_options(section, check_id, options)
    return CheckOverride(enabled=enabled, interval=interval or None, options=options)


def _validate_options(section: _Section, check_id: str, options: Mapping[str, Any]) -> None:
    from bot.checks import CHECKS, build_settings  # the checks import this module: import at use

    settings_type = CHECKS[check_id].settings_type
    accepted = ["enabled", "interval"] + [f.name for f in dataclasses.fields(settings_type)] if settings_type else []
    for key in options:
        if key not in accepted:
            section.problem(key, _unknown_key_text(key, accepted or ["enabled", "interval"], "key"))
    known = {k: v for k, v in options.items() if k in accepted}
    try:
        build_settings(check_id, known)
    except (ValueError, TypeError) as error:
        key = getattr(error, "key", None) or getattr(error, "argument", None)
        text = str(error)
        if key and text.startswith(f"{key}: "):
            section.problem(key, text[len(key) + 2 :])
        elif match := re.match(r"([a-z_]+(?:\[\d+\])?): ", text):
            section.problems.add(f"{section.path}.{match[1]}", text[match.end() :])
        else:
            section.problems.add(section.path, text)


def _read_checks(root: _Section) -> dict[str, CheckSettings]:
    checks: dict[str, CheckSettings] = {}
    for check_id, section in _check_tables(root).items():
        override = _read_check_table(section, check_id)
        checks[check_id] = merge_check(CheckSettings(), override)
    return checks


def _read_check_overrides(system: _Section) -> dict[str, CheckOverride]:
    return {check_id: _read_check_table(section, check_id) for check_id, section in _check_tables(system).items()}
