"""Doctor: the audit log's key (WARDEN_AUDIT_KEY) and the channel its head is anchored to."""

from __future__ import annotations

from bot.config import Config, ConfigError, Secrets
from bot.doctor.report import FAIL, OK, WARN, Report


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
