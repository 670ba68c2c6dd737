"""smtp-relay: an SMTP server that relays mail for strangers, or *ACCEPT entries that let too many relay.

IBM sources: CHGSMTPA ALWRLY values *NONE *ALL *LIST *NEAR *BOTH and the "Restrict relays" options
(IBM Documentation, CHGSMTPA 7.1/7.3, "Restrict relays"); ADDSMTPLE TYPE(*ACCEPT) with INTNETADR and
SUBNETMASK (IBM Documentation, ADDSMTPLE 7.4). Kisco, "SMTP relay controls", calls *ALL open access
and very risky. no documented way (service, API or file) to read the current ALWRLY value was found, so the
policy is known only when ibmi-warden set it, when an administrator attests it in the configuration,
or as evidence from the optional active probe (probe.py). The layout of QUSRSYS/QATMADRLST
is undocumented too: which member is the *ACCEPT list is guessed from its name (accept_list.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.checks.definition import ApprovedSmtpChanges
from bot.checks.finding import Finding
from bot.checks.smtp_relay.accept_list import (
    covering_accept_entries,
    list_findings,
)
from bot.checks.smtp_relay.probe import ProbeResult
from bot.checks.smtp_relay.settings import CHECK_ID, SmtpRelaySettings
from bot.ibmi.cl import ChangeSmtpRelay
from bot.ibmi.rows import ActiveJob, SmtpListReading, SmtpStatus

OPEN_POLICY = "*ALL"
ATTESTED = "attested in config"
SET_BY_WARDEN = "set by ibmi-warden"


# Job names of the SMTP *server* (IBM SMTP performance topic, 7.2): the daemon QTSMTPSRVD and the
# prestart jobs QTMSMTPSRVP. QTSMTPCLTD/QTSMTPCLTP are the client, which sends but does not relay.
SERVER_JOB_PREFIXES = ("QTSMTPSRV", "QTMSMTPSRV")

WHAT_WOULD_HELP = (
    "To let ibmi-warden know: set attested_policy under [checks.smtp-relay] after checking CHGSMTPA's "
    "ALWRLY with the prompt (F4) or IBM Navigator, or enable the active probe (probe = true)."
)
WHAT_WOULD_HELP_WITH_PROBE = (
    "To let ibmi-warden know the setting itself: set attested_policy under [checks.smtp-relay] after "
    "checking CHGSMTPA's ALWRLY with the prompt (F4) or IBM Navigator."
)


def server_jobs(status: SmtpStatus) -> tuple[ActiveJob, ...] | None:
    """The SMTP server jobs among the QTSMTP* jobs read; None when the jobs could not be read."""
    if status.server_jobs is None:
        return None
    return tuple(job for job in status.server_jobs if _short_job_name(job.job_name).startswith(SERVER_JOB_PREFIXES))


def smtp_running(status: SmtpStatus, probe: ProbeResult | None = None) -> bool | None:
    """True when the server listens, has server jobs or answered the probe; False when what could be
    read shows it stopped; None when neither NETSTAT nor ACTIVE_JOB_INFO could be read."""
    jobs = server_jobs(status)
    if status.listening_on_25 or jobs or (probe is not None and probe.reached_server):
        return True
    if status.listening_on_25 is None and jobs is None:
        return None
    return False


def evaluate(
    system: str,
    status: SmtpStatus,
    lists: SmtpListReading | None,
    probe: ProbeResult | None = None,
    settings: SmtpRelaySettings | None = None,
    approved: ApprovedSmtpChanges | None = None,
) -> list[Finding]:
    """Findings about relaying through the system's SMTP server.

    `lists` is None when the lists were not read; `probe` is None when the probe did not run; `approved` is
    what ibmi-warden's records say it changed by approval (the relay policy it set, when the lists changed).
    """
    settings = settings or SmtpRelaySettings()
    approved = approved or ApprovedSmtpChanges()
    running = smtp_running(status, probe)
    if running is False:
        return []
    findings: list[Finding] = []
    if running is None:
        findings.append(_cannot_see_smtp(system))
    findings.extend(_pending_restart(system, status, approved))
    findings.extend(_policy_findings(system, status, probe, settings, approved))
    if probe is not None:
        findings.extend(_probe_findings(system, probe, lists))
    findings.extend(list_findings(system, lists, settings))
    return findings


# --- whether SMTP runs ----------------------------------------------------------------------------


def _cannot_see_smtp(system: str) -> Finding:
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="info",
        subject="smtp-visibility",
        title="Cannot see whether SMTP runs",
        details=(
            "QSYS2.NETSTAT_INFO shows no listening socket at all and QSYS2.ACTIVE_JOB_INFO could not be read, "
            "so whether the SMTP server runs is unknown; the relay findings below apply if it does.",
            "On IBM i 7.6 NETSTAT_INFO needs *IOSYSCFG or the QIBM_IOSYSCFG_VIEW function usage. "
            "By hand: WRKACTJOB JOB(QTSM*) shows the SMTP jobs.",
        ),
    )


# --- list changes waiting for a restart -----------------------------------------------------------


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pending_restart(system: str, status: SmtpStatus, approved: ApprovedSmtpChanges) -> list[Finding]:
    """ "change pending SMTP restart" while every SMTP server job started before the last approved list change
    (IBM's ADDSMTPLE/RMVSMTPLE pages: list changes apply when the SMTP server next starts)."""
    jobs = server_jobs(status)
    if approved.list_changed_at is None or not jobs or any(job.started_at is None for job in jobs):
        return []
    changed = datetime.fromtimestamp(approved.list_changed_at, UTC)
    started = [job.started_at for job in jobs if job.started_at is not None]
    if max(started) >= changed:
        return []
    return [
        Finding(
            system=system,
            check=CHECK_ID,
            severity="warning",
            subject="smtp-restart-pending",
            title="SMTP list change pending SMTP restart",
            details=(
                f"An approved SMTP list change ({_utc_text(changed)}) is not in effect: list changes apply when the "
                f"SMTP server next starts, and its jobs started at {_utc_text(max(started))}, before the change.",
                f"Restart it: /ibmi smtp restart @{system} (ENDTCPSVR then STRTCPSVR SERVER(*SMTP)).",
            ),
            facts={
                "list_changed_at": changed.isoformat(),
                "server_started_at": max(started).isoformat(),
            },
        )
    ]


# --- the relay policy -----------------------------------------------------------------------------


def _set_by_warden(approved: ApprovedSmtpChanges) -> str:
    by = ", ".join(f"<@{approver}>" for approver in approved.relay_set_by) or "an approver"
    at = (
        datetime.fromtimestamp(approved.relay_set_at, UTC).strftime(" at %Y-%m-%d %H:%M UTC")
        if approved.relay_set_at is not None
        else ""
    )
    return f"{SET_BY_WARDEN} (approved by {by}{at})"


def _known_policy(approved: ApprovedSmtpChanges, settings: SmtpRelaySettings, probe: ProbeResult | None) -> str | None:
    """The ALWRLY value ibmi-warden set by approval, unless an attestation or the probe contradicts it."""
    value = approved.relay_policy
    if value is None:
        return None
    if settings.attested_policy and settings.attested_policy != value:
        return None
    if probe is not None and (
        (probe.accepted is True and value == "*NONE") or (probe.accepted is False and value == OPEN_POLICY)
    ):
        return None
    return value


def _policy_claims(
    status: SmtpStatus,
    settings: SmtpRelaySettings,
    approved: ApprovedSmtpChanges | None = None,
    probe: ProbeResult | None = None,
) -> list[tuple[str, str]]:
    """Every known statement of ALWRLY as (value, label): what ibmi-warden set, then the attested value."""
    claims: list[tuple[str, str]] = []
    known = _known_policy(approved, settings, probe) if approved else None
    if known:
        claims.append((known, _set_by_warden(approved or ApprovedSmtpChanges())))
    if status.relay.value:
        claims.append((status.relay.value.strip().upper(), status.relay.source))
    if settings.attested_policy:
        label = ATTESTED + (f" by {settings.attested_by}" if settings.attested_by else "")
        claims.append((settings.attested_policy, label))
    return claims


def _policy_findings(
    system: str,
    status: SmtpStatus,
    probe: ProbeResult | None,
    settings: SmtpRelaySettings,
    approved: ApprovedSmtpChanges,
) -> list[Finding]:
    claims = _policy_claims(status, settings, approved, probe)
    if not claims:
        return [_policy_unknown(system, status, probe)]
    open_claims = [(value, label) for value, label in claims if value == OPEN_POLICY]
    if not open_claims:
        return []
    value, label = open_claims[0]
    details = [
        "ALWRLY(*ALL) lets any host on the network hand this system mail for any recipient, so spammers can "
        'send through it under its name and address (Kisco, "SMTP relay controls": open access, very risky).',
        f"Where this value comes from: {label}.",
    ]
    details.extend(
        f"Note: another source ({other_label}) gives ALWRLY({other})."
        for other, other_label in claims
        if other != OPEN_POLICY
    )
    details.append(
        "Fix (needs *IOSYSCFG): CHGSMTPA ALWRLY(*LIST) and list the hosts allowed to relay with "
        "ADDSMTPLE TYPE(*ACCEPT); ALWRLY(*NONE) also blocks mail the system itself sends (SNDDST, SNDSMTPEMM)."
    )
    return [
        Finding(
            system=system,
            check=CHECK_ID,
            severity="critical",
            subject="relay-policy",
            title=f"Open relay: anyone can send mail through this system (ALWRLY *ALL, {label})",
            details=tuple(details),
            facts={
                "relay_policy": value,
                "source": label,
                "claims": [{"relay_policy": v, "source": s} for v, s in claims],
                "fix_command": ChangeSmtpRelay.build("*LIST").to_cl(),
            },
        )
    ]


def _policy_unknown(system: str, status: SmtpStatus, probe: ProbeResult | None) -> Finding:
    why = status.relay.detail or "no documented way found to read CHGSMTPA ALWRLY (no SQL service, API or file)"
    details = [
        f"{why}. Its values: *ALL relays for anyone (open relay), *LIST only for *ACCEPT list addresses, "
        "*NEAR only to near-domain recipients, *BOTH either list, *NONE for nobody."
    ]
    facts: dict[str, Any] = {"relay_policy": None, "source": status.relay.source}
    if probe is None:
        details.append(WHAT_WOULD_HELP)
    else:
        facts["probe"] = _probe_facts(probe)
        if probe.accepted is False:
            details.append(
                f"The active probe from {_origin(probe)} was refused ({probe.summary()}): relaying from that "
                "address is refused, which is evidence against *ALL, not a reading of the setting."
            )
        else:
            details.append(f"The active probe ran: {probe.summary()}.")
        details.append(WHAT_WOULD_HELP_WITH_PROBE)
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="info",
        subject="relay-policy-unknown",
        title="Cannot determine the SMTP relay policy",
        details=tuple(details),
        facts=facts,
    )


# --- the active probe ------------------------------------------------------------------------------


def _origin(probe: ProbeResult) -> str:
    return probe.local_address or "the bot's host"


def _probe_facts(probe: ProbeResult) -> dict[str, Any]:
    return {
        "accepted": probe.accepted,
        "stage": probe.stage,
        "code": probe.code,
        "message": probe.message,
        "error": probe.error,
        "host": probe.host,
        "port": probe.port,
        "from_address": probe.local_address,
        "sender": probe.sender,
        "recipient": probe.recipient,
        "transcript": list(probe.transcript),
    }


def _probe_findings(system: str, probe: ProbeResult, lists: SmtpListReading | None) -> list[Finding]:
    if probe.accepted is False:
        return []  # refused: recorded in the facts of the policy finding when the policy is unknown
    if probe.accepted is True:
        details = [
            f"The probe connected to {probe.host} port {probe.port} from {_origin(probe)}, gave an outside "
            f"sender ({probe.sender}) and an outside recipient ({probe.recipient}); the server answered "
            f"RCPT with {probe.code} {probe.message}".rstrip()
            + ". No DATA was sent, so no mail went out.",
        ]
        covering = covering_accept_entries(probe.local_address, lists)
        if covering:
            details.append(
                f"{_origin(probe)} is inside *ACCEPT entr{'ies' if len(covering) > 1 else 'y'} "
                f"{', '.join(covering)}, so this relay may be intended; run the probe from a host that is "
                "not on the list to test whether strangers can relay."
            )
        else:
            details.append(
                "Unless the bot's host is meant to relay, the server relays for strangers: check CHGSMTPA "
                "ALWRLY and the *ACCEPT list."
            )
        details.append("Dialogue: " + " | ".join(probe.transcript))
        return [
            Finding(
                system=system,
                check=CHECK_ID,
                severity="critical",
                subject="probe-relay-accepted",
                title=f"SMTP relay accepted from {_origin(probe)}: the server took mail for an outside recipient",
                details=tuple(details),
                facts={"probe": _probe_facts(probe)},
            )
        ]
    what = probe.error or (
        f"the server answered {probe.code} {probe.message}".rstrip() if probe.code is not None else "no answer"
    )
    return [
        Finding(
            system=system,
            check=CHECK_ID,
            severity="info",
            subject="probe-inconclusive",
            title=f"The relay probe was inconclusive: {what}",
            details=(
                f"Stage: {probe.stage}. A temporary (4xx) or unexpected reply, or a failed connection, says "
                "nothing about whether the server relays.",
                "Dialogue: " + " | ".join(probe.transcript) if probe.transcript else "No dialogue took place.",
            ),
            facts={"probe": _probe_facts(probe)},
        )
    ]


def _short_job_name(job_name: str) -> str:
    return job_name.strip().rsplit("/", 1)[-1].upper()
