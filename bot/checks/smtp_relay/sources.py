"""What the smtp-relay check reads: whether SMTP listens (NETSTAT asked by key), its jobs, and the probe."""

from __future__ import annotations

from bot.checks.definition import Source, SourceContext
from bot.checks.smtp_relay.probe import ProbeResult, probe_relay
from bot.checks.smtp_relay.settings import CHECK_ID, SmtpRelaySettings
from bot.checks.sources import AUDITED_REFUSAL_RETRY, NETSTAT_SERVICE
from bot.ibmi import sql
from bot.ibmi.rows import ActiveJob, RelayPolicy, SmtpStatus
from bot.ibmi.sql import RELAY_POLICY_UNREADABLE

SMTP_PORT = 25


def _smtp_listening(context: SourceContext) -> bool | None:
    """Whether something listens on port 25 (None: NETSTAT shows no listening socket at all), asked of NETSTAT
    by key: the full NETSTAT is read only by the checks that judge every connection, and may run at another
    interval."""
    return sql.read_smtp_listening(context.connection)


# NETSTAT like the shared NETSTAT source: one refusal (audited on IBM i 7.6) holds both back for an hour.
SMTP_LISTENING = Source("smtp-listening", _smtp_listening, AUDITED_REFUSAL_RETRY, service=NETSTAT_SERVICE)


def smtp_status(listening: bool | None, jobs: tuple[ActiveJob, ...] | None) -> SmtpStatus:
    """Whether SMTP listens and runs; the relay policy is always unknown (nothing on IBM i exposes it)."""
    return SmtpStatus(listening, jobs, RelayPolicy(None, "unknown", RELAY_POLICY_UNREADABLE))


def _probe(context: SourceContext) -> ProbeResult | None:
    """The relay probe's answer; None when the probe is off or there is no host to probe."""
    settings: SmtpRelaySettings = context.settings.get(CHECK_ID) or SmtpRelaySettings()
    host = settings.probe_host or context.target.host
    if not settings.probe or not host:
        return None
    return probe_relay(
        host,
        settings.probe_port,
        sender=settings.probe_sender,
        recipient=settings.probe_recipient,
        timeout=settings.probe_timeout,
        helo_name=settings.probe_helo,
    )


SMTP_PROBE = Source("smtp-probe", _probe, as_profile=False)
