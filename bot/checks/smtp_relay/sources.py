"""What the smtp-relay check reads: SMTP's status from the shared NETSTAT rows and its jobs, and the probe."""

from __future__ import annotations

from collections.abc import Sequence

from bot.checks.definition import Source, SourceContext
from bot.checks.smtp_relay.probe import ProbeResult, probe_relay
from bot.checks.smtp_relay.settings import CHECK_ID, SmtpRelaySettings
from bot.ibmi.rows import ActiveJob, NetstatConnection, RelayPolicy, SmtpStatus
from bot.ibmi.sql import RELAY_POLICY_UNREADABLE

SMTP_PORT = 25


def smtp_listening(connections: Sequence[NetstatConnection] | None) -> bool | None:
    """True when something listens on port 25; None when NETSTAT was not readable or shows no listening
    socket at all (the answer of `sql.read_smtp_listening`, from rows the cycle has already read)."""
    if connections is None:
        return None
    listening = [c for c in connections if c.is_listening]
    if any(c.local_port == SMTP_PORT for c in listening):
        return True
    return False if listening else None


def smtp_status(connections: Sequence[NetstatConnection] | None, jobs: tuple[ActiveJob, ...] | None) -> SmtpStatus:
    """Whether SMTP listens and runs; the relay policy is always unknown (nothing on IBM i exposes it)."""
    return SmtpStatus(smtp_listening(connections), jobs, RelayPolicy(None, "unknown", RELAY_POLICY_UNREADABLE))


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
