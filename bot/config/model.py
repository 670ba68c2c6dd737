"""The settings the rest of the bot reads: frozen dataclasses, their defaults and the values they accept.

`bot.config.load.load_config` fills them from the file and the environment; nothing here reads a file.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_CHECK_INTERVAL = 10.0
# The changes a request can ask for, each with its own [approvals.<action>] policy table.
APPROVAL_ACTIONS: tuple[str, ...] = (
    "end-connection",
    "smtp-add",
    "smtp-remove",
    "smtp-restart",
    "relay-set",
    "trust",
    "untrust",
)
# How the tracer finds an address's registry (ipwhois asn_methods); "http" works where DNS and port 43 are blocked.
TRACE_ASN_METHODS: tuple[str, ...] = ("http", "dns", "whois")
MAX_TRACE_CONCURRENCY = 16
AUDIT_KEY_ENV = "WARDEN_AUDIT_KEY"
MIN_AUDIT_KEY_LENGTH = 32


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


# Where the checks' runbooks (bot/checks/<package>/runbook.md) are published; an alert links to
# <base><package>/runbook.md.
DEFAULT_RUNBOOK_BASE_URL = "https://github.com/ibmi-warden/ibmi-warden/blob/main/bot/checks/"


@dataclass(frozen=True)
class SlackSettings:
    alerts_channel: str
    approvals_channel: str
    command: str = "/ibmi"
    routes: tuple[Route, ...] = ()  # empty: every alert goes to alerts_channel
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL  # https://…/ ending in "/"; <base><package>/runbook.md
    audit_channel: str | None = None  # where the audit head is anchored; None: not anchored outside the host
    fallback_channel: str | None = None  # told when messages for another channel are parked; None: nowhere
    team_id: str | None = None  # the bot's own workspace; None: as auth.test names it
    app_id: str | None = None  # the bot's own app; None: as auth.test names it (when it does)

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


# In [roles] viewers: everyone in the workspace may view.
EVERYONE = "*"


@dataclass(frozen=True)
class RoleSettings:
    """Slack user ids (U…/W…) or @usergroup handles. Operators and approvers may always view; viewers lists
    who else may, and "*" among them opens viewing to everyone in the workspace."""

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
class ApprovalLimits:
    """[approvals.limits]: how large and how broad a change may be, and what makes it dangerous.

    Prefix lengths stand for address counts: /16 is 65,536 IPv4 addresses. A dangerous change needs
    `dangerous_min_approvals` approvals (or its action's own min_approvals, if higher).
    """

    max_commands: int = 50  # CL commands one request may run (and show)
    smtp_accept_max_prefix: int = 16  # an *ACCEPT entry broader than this is refused
    smtp_accept_total_max_prefix: int = 8  # the whole *ACCEPT list may cover no more than this prefix holds
    trust_max_prefix_ipv4: int = 8  # a trusted IPv4 network broader than this is refused (never /0)
    trust_max_prefix_ipv6: int = 32  # a trusted IPv6 network broader than this is refused (never /0)
    dangerous_prefix_ipv4: int = 16  # a change opening more IPv4 addresses than this prefix holds is dangerous
    dangerous_prefix_ipv6: int = 48
    dangerous_min_approvals: int = 2


@dataclass(frozen=True)
class TraceSettings:
    """Looking up who owns an address (RDAP)."""

    ttl: float = 7 * 86400.0  # seconds an owner stays cached
    timeout: float = 5.0  # seconds per lookup step
    asn_methods: tuple[str, ...] = ("http",)  # in the order ipwhois tries them
    max_concurrent: int = 4  # lookups at a time


MIN_HTTP_BODY_BYTES = 16 * 1024
MAX_HTTP_BODY_BYTES = 64 * 1024 * 1024
MAX_HTTP_THREADS = 64


@dataclass(frozen=True)
class HttpSettings:
    """HTTP mode (`run --http PORT`): where waitress listens and what it accepts before Bolt checks a signature."""

    host: str = "127.0.0.1"  # behind a TLS reverse proxy on the same host; "0.0.0.0" listens everywhere
    max_body_bytes: int = 1024 * 1024  # a larger body is refused with 413, unread; Slack's payloads are far smaller
    channel_timeout: float = 10.0  # seconds a connection may idle (or trickle a request) before it is closed
    connection_limit: int = 100  # open connections; beyond it, new ones wait in the listen backlog
    threads: int = 16  # requests handled at once


MAX_PARALLEL_SYSTEMS = 256


@dataclass(frozen=True)
class SchedulerSettings:
    """[scheduler]: each system has its own lane (one piece of IBM i work at a time, a bounded queue);
    at most `max_parallel_systems` lanes work at once."""

    max_parallel_systems: int = 16  # systems worked on at once (checks, commands, approved CL)
    max_waiting: int = 5  # commands waiting in one system's lane; more are answered "SYSTEM is busy"


@dataclass(frozen=True)
class StorageSettings:
    path: Path = Path("warden.db")
    retention: float = 30 * 86400.0  # seconds: resolved alerts, check runs and sent Slack messages older go


MIN_RETENTION = 3600.0  # the shortest [storage] retention accepted

# The IBM i releases the demo can report.
DEMO_RELEASES: tuple[str, ...] = ("7.3", "7.4", "7.5", "7.6")

# Special authorities the demo can take away from the bot's profile, to show what a missing one does.
DEMO_REMOVABLE_AUTHORITIES: tuple[str, ...] = ("*IOSYSCFG", "*SPLCTL", "*JOBCTL", "*ALLOBJ", "*AUDIT")

# The SQL messages the demo can fail every statement with, to show a sick system (bot.ibmi.drivers.demo.errors).
DEMO_STATEMENT_FAILURES: tuple[str, ...] = ("SQL0901", "SQL0666", "SQL0551")


@dataclass(frozen=True)
class DemoSettings:
    """How the embedded demo IBM i behaves (only for `connection = "demo"`)."""

    path: Path = Path("demo-ibmi")  # folder holding one SQLite file per library
    latency: float = 0.0  # seconds added to every statement
    hang: bool = False  # every statement blocks until the bot abandons its connection (a hung driver)
    traffic: bool = False  # let connections arrive and leave over time
    traffic_interval: float = 60.0  # seconds between traffic changes
    seed: int = 1
    # Special authorities the bot's demo profile lacks (each one of DEMO_REMOVABLE_AUTHORITIES); the demo
    # then refuses what IBM i refuses such a profile (without *IOSYSCFG: NETSTAT on 7.6, SMTP changes).
    missing_authorities: tuple[str, ...] = ()
    release: str = "7.5"  # the IBM i release it reports (ENV_SYS_INFO) with that release's Db2 PTF group
    fail_statements: str | None = None  # one of DEMO_STATEMENT_FAILURES: every statement fails with it


MAPEPIRE_SCHEME = "mapepire://"
MAPEPIRE_DEFAULT_PORT = 8076  # the Mapepire server's default port


@dataclass(frozen=True)
class SystemSettings:
    name: str
    connection: str  # "demo", an ODBC connection string, "DSN=…", or "mapepire://HOST[:PORT]"
    trusted: tuple[IPNetwork, ...] = ()
    user_env: str | None = None  # name of the environment variable holding the user profile
    password_env: str | None = None  # name of the environment variable holding the password
    login_timeout: float = 10.0
    query_timeout: float = 30.0
    # Wall-clock seconds the bot waits for one statement / one CL command before abandoning the connection;
    # None: query_timeout plus a margin (bot.ibmi.access.DEADLINE_MARGIN).
    statement_deadline: float | None = None
    command_deadline: float | None = None
    demo: DemoSettings | None = None
    checks: Mapping[str, CheckOverride] = field(default_factory=dict)
    ca_file: Path | None = None  # Mapepire: PEM file of the CA (or the server's own certificate) to trust

    @property
    def is_demo(self) -> bool:
        return self.connection == "demo"

    @property
    def is_mapepire(self) -> bool:
        return self.connection.lower().startswith(MAPEPIRE_SCHEME)

    @property
    def driver(self) -> str:
        """The kind of driver that reaches this system: "demo", "mapepire" or "odbc"."""
        if self.is_demo:
            return "demo"
        return "mapepire" if self.is_mapepire else "odbc"


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
    http: HttpSettings = field(default_factory=HttpSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    checks: Mapping[str, CheckSettings] = field(default_factory=dict)
    log_level: str = "INFO"
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # One resolved policy per action in APPROVAL_ACTIONS; actions left out get the defaults with [roles].approvers.
    approvals: Mapping[str, ApprovalPolicy] = field(default_factory=dict)
    approval_limits: ApprovalLimits = field(default_factory=ApprovalLimits)
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
    audit_key: str | None = field(default=None, repr=False)  # WARDEN_AUDIT_KEY: audit hashes become HMAC-SHA256

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
            audit_key=get(AUDIT_KEY_ENV),
        )

    def values(self) -> list[str]:
        """Every secret value, for log redaction."""
        return [v for v in (self.slack_bot_token, self.slack_app_token, self.slack_signing_secret, self.audit_key) if v]

    def audit_key_bytes(self) -> bytes | None:
        """WARDEN_AUDIT_KEY as the HMAC key, None when unset; ConfigError when it is too short to be a key."""
        if self.audit_key is None:
            return None
        if len(self.audit_key) < MIN_AUDIT_KEY_LENGTH:
            raise ConfigError(
                [
                    f"{AUDIT_KEY_ENV} is {len(self.audit_key)} characters long; a key needs at least "
                    f"{MIN_AUDIT_KEY_LENGTH} (make one with: python3 -c 'import secrets; print(secrets.token_hex(32))')"
                ]
            )
        return self.audit_key.encode("utf-8")
