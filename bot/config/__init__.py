"""Settings: one TOML file plus secrets from the environment (never from the file).

The dataclasses in `model` are the contract the rest of the bot reads. `load_config` fills them
and reports every problem at once, naming the file, the key and what is accepted. This package
re-exports the names the rest of the bot imports; `validation` holds the checking helpers and
`readers` one reader per section of the file.
"""

from bot.config.load import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_PATH,
    EXAMPLE_CONFIG_NAME,
    find_example_config,
    load_config,
    resolve_config_path,
    system_credentials,
)
from bot.config.model import (
    APPROVAL_ACTIONS,
    DEFAULT_RUNBOOK_BASE_URL,
    DEMO_REMOVABLE_AUTHORITIES,
    DEMO_STATEMENT_FAILURES,
    EVERYONE,
    LOG_LEVELS,
    MAX_TRACE_CONCURRENCY,
    MIN_CHECK_INTERVAL,
    SEVERITIES,
    TRACE_ASN_METHODS,
    AlertSettings,
    ApprovalLimits,
    ApprovalPolicy,
    CheckOverride,
    CheckSettings,
    Config,
    ConfigError,
    DemoSettings,
    DigestSettings,
    HttpSettings,
    IPNetwork,
    RoleSettings,
    Route,
    SchedulerSettings,
    Secrets,
    SlackSettings,
    StorageSettings,
    SystemSettings,
    TraceSettings,
    merge_check,
)
from bot.config.readers.alerts import DIGEST_TIME_FORM, TIMEZONE_FORM
from bot.config.readers.roles import MIN_APPROVAL_TTL, ROLE_MEMBER_FORM, VIEWER_FORM
from bot.config.readers.runtime import HOST_FORM
from bot.config.readers.slack import CHANNEL_FORM, RUNBOOK_BASE_URL_FORM, SEVERITY_FORM
from bot.config.readers.systems import CONNECTION_FORM, NETWORK_FORM
from bot.config.validation import DURATION_FORM, parse_duration

__all__ = [
    "APPROVAL_ACTIONS",
    "CHANNEL_FORM",
    "CONFIG_ENV_VAR",
    "CONNECTION_FORM",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_RUNBOOK_BASE_URL",
    "DEMO_REMOVABLE_AUTHORITIES",
    "DEMO_STATEMENT_FAILURES",
    "DIGEST_TIME_FORM",
    "DURATION_FORM",
    "EVERYONE",
    "EXAMPLE_CONFIG_NAME",
    "HOST_FORM",
    "LOG_LEVELS",
    "MAX_TRACE_CONCURRENCY",
    "MIN_APPROVAL_TTL",
    "MIN_CHECK_INTERVAL",
    "NETWORK_FORM",
    "ROLE_MEMBER_FORM",
    "RUNBOOK_BASE_URL_FORM",
    "SEVERITIES",
    "SEVERITY_FORM",
    "TIMEZONE_FORM",
    "TRACE_ASN_METHODS",
    "VIEWER_FORM",
    "AlertSettings",
    "ApprovalLimits",
    "ApprovalPolicy",
    "CheckOverride",
    "CheckSettings",
    "Config",
    "ConfigError",
    "DemoSettings",
    "DigestSettings",
    "HttpSettings",
    "IPNetwork",
    "RoleSettings",
    "Route",
    "Secrets",
    "SlackSettings",
    "SchedulerSettings",
    "StorageSettings",
    "SystemSettings",
    "TraceSettings",
    "find_example_config",
    "load_config",
    "merge_check",
    "parse_duration",
    "resolve_config_path",
    "system_credentials",
]
