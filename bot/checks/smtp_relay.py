"""smtp-relay: an SMTP server that relays mail for strangers, or *ACCEPT entries that let too many relay.

IBM sources: CHGSMTPA ALWRLY values *NONE *ALL *LIST *NEAR *BOTH and the "Restrict relays" options
(IBM Documentation, CHGSMTPA 7.1/7.3, "Restrict relays"); ADDSMTPLE TYPE(*ACCEPT) with INTNETADR and
SUBNETMASK (IBM Documentation, ADDSMTPLE 7.4). Kisco, "SMTP relay controls", calls *ALL open access
and very risky. IBM documents no service, API or file that shows the current ALWRLY value, so the
policy is known only when ibmi-warden set it, when an administrator attests it in the configuration,
or as evidence from the optional active probe (bot/smtp_probe.py). The layout of QUSRSYS/QATMADRLST
is undocumented too: which member is the *ACCEPT list is guessed from its name (see ACCEPT_MEMBER_HINT).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from bot.checks.finding import Finding
from bot.ibmi.cl import RELAY_POLICIES, ChangeSmtpRelay, CLValidationError, RemoveSmtpListEntry
from bot.ibmi.rows import ActiveJob, SmtpListEntry, SmtpListReading, SmtpStatus
from bot.smtp_probe import (
    ProbeResult,
    ProbeSettingError,
    validate_address,
    validate_helo_name,
    validate_host,
    validate_port,
    validate_timeout,
)

CHECK_ID = "smtp-relay"

OPEN_POLICY = "*ALL"
ATTESTED = "attested in config"

# Which member of QUSRSYS/QATMADRLST holds the *ACCEPT list is not documented. A member whose name
# contains these letters (any case) is treated as an *ACCEPT list; the finding names the member.
ACCEPT_MEMBER_HINT = "ACC"

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
ACCEPT_HEURISTIC = (
    f"The *ACCEPT list was recognised by its member name (containing {ACCEPT_MEMBER_HINT!r}): IBM does not "
    "document the members of QUSRSYS/QATMADRLST, so this is an unconfirmed guess."
)


class SmtpRelaySettingError(ValueError):
    """A [checks.smtp-relay] setting is wrong. `key` names it; the message says what was expected."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")


@dataclass(frozen=True)
class SmtpRelaySettings:
    """The [checks.smtp-relay] settings.

    max_accept_prefix: *ACCEPT entries broader than this prefix length (a mask with fewer one bits)
      are reported; 24 = up to 256 addresses is acceptable, a /23 is not.
    attested_policy: the ALWRLY value an administrator has checked and states in the configuration
      (*NONE *ALL *LIST *NEAR *BOTH, asterisk and case optional); shown as "attested" wherever used.
    attested_by: who attested it and when, free text shown next to the value.
    probe: run the active relay probe (bot/smtp_probe.py) against the system's SMTP server.
    probe_host: where to probe; None = the system's own host name (the caller decides).
    """

    max_accept_prefix: int = 24
    attested_policy: str | None = None
    attested_by: str | None = None
    probe: bool = False
    probe_host: str | None = None
    probe_port: int = 25
    probe_timeout: float = 10.0
    probe_sender: str = "relay-probe@example.org"
    probe_recipient: str = "relay-probe@example.com"
    probe_helo: str | None = None

    def __post_init__(self) -> None:
        prefix = self.max_accept_prefix
        if isinstance(prefix, bool) or not isinstance(prefix, int) or not 0 <= prefix <= 32:
            raise SmtpRelaySettingError(
                "max_accept_prefix", f"{prefix!r} is not a prefix length; expected a whole number from 0 to 32"
            )
        if self.attested_policy is not None:
            try:
                policy = ChangeSmtpRelay.build(self.attested_policy).allow_relay
            except CLValidationError:
                raise SmtpRelaySettingError(
                    "attested_policy",
                    f"{self.attested_policy!r} is not a relay policy; expected one of {', '.join(RELAY_POLICIES)}",
                ) from None
            object.__setattr__(self, "attested_policy", policy)
        if self.attested_by is not None and not isinstance(self.attested_by, str):
            raise SmtpRelaySettingError("attested_by", f"{self.attested_by!r} is not text")
        if not isinstance(self.probe, bool):
            raise SmtpRelaySettingError("probe", f"{self.probe!r} is not true or false")
        for key, validate, value in (
            ("probe_sender", validate_address, self.probe_sender),
            ("probe_recipient", validate_address, self.probe_recipient),
            ("probe_port", validate_port, self.probe_port),
            ("probe_timeout", validate_timeout, self.probe_timeout),
            ("probe_host", validate_host, self.probe_host),
            ("probe_helo", validate_helo_name, self.probe_helo),
        ):
            if value is None:
                continue
            try:
                validate(key, value)
            except ProbeSettingError as error:
                raise SmtpRelaySettingError(key, str(error).removeprefix(f"{key}: ")) from None


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


def accept_prefix(entry: SmtpListEntry) -> int | None:
    """How many leading addresses bits the entry fixes: the one bits of its mask (a missing mask is
    ADDSMTPLE's default 255.255.255.255). None when the mask is not an IPv4 mask."""
    mask = entry.mask.strip() if entry.mask else "255.255.255.255"
    try:
        return bin(int(ipaddress.IPv4Address(mask))).count("1")
    except ValueError:
        return None


def is_accept_member(member: str) -> bool:
    return ACCEPT_MEMBER_HINT in member.upper()


def too_broad(entry: SmtpListEntry, max_accept_prefix: int) -> bool:
    """An *ACCEPT entry lets more addresses relay than max_accept_prefix allows, or every address.
    An entry whose mask cannot be read counts as too broad: its breadth cannot be ruled out."""
    prefix = accept_prefix(entry)
    if prefix is None:
        return True
    return prefix == 0 or prefix < max_accept_prefix


def evaluate(
    system: str,
    status: SmtpStatus,
    lists: SmtpListReading | None,
    probe: ProbeResult | None = None,
    settings: SmtpRelaySettings | None = None,
) -> list[Finding]:
    """Findings about relaying through the system's SMTP server.

    `lists` is None when the lists were not read; `probe` is None when the probe did not run.
    """
    settings = settings or SmtpRelaySettings()
    running = smtp_running(status, probe)
    if running is False:
        return []
    findings: list[Finding] = []
    if running is None:
        findings.append(_cannot_see_smtp(system))
    findings.extend(_policy_findings(system, status, probe, settings))
    if probe is not None:
        findings.extend(_probe_findings(system, probe, lists))
    findings.extend(_list_findings(system, lists, settings))
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


# --- the relay policy -----------------------------------------------------------------------------


def _policy_claims(status: SmtpStatus, settings: SmtpRelaySettings) -> list[tuple[str, str]]:
    """Every known statement of ALWRLY as (value, label): what ibmi-warden set, then the attested value."""
    claims: list[tuple[str, str]] = []
    if status.relay.value:
        claims.append((status.relay.value.strip().upper(), status.relay.source))
    if settings.attested_policy:
        label = ATTESTED + (f" by {settings.attested_by}" if settings.attested_by else "")
        claims.append((settings.attested_policy, label))
    return claims


def _policy_findings(
    system: str, status: SmtpStatus, probe: ProbeResult | None, settings: SmtpRelaySettings
) -> list[Finding]:
    claims = _policy_claims(status, settings)
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
    why = status.relay.detail or "IBM i documents no SQL service, API or file that exposes CHGSMTPA ALWRLY"
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
        covering = _covering_accept_entries(probe.local_address, lists)
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


def _covering_accept_entries(address: str | None, lists: SmtpListReading | None) -> list[str]:
    if address is None or lists is None or not lists.readable:
        return []
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return []
    covering = []
    for entry in lists.entries:
        network = entry.network
        if is_accept_member(entry.member) and network is not None and ip in network:
            covering.append(f"{entry.address}/{accept_prefix(entry)}")
    return covering


# --- the *ACCEPT list ------------------------------------------------------------------------------


def _list_findings(system: str, lists: SmtpListReading | None, settings: SmtpRelaySettings) -> list[Finding]:
    if lists is None or not lists.readable:
        problem = "they were not read" if lists is None else (lists.problem or "no reason given")
        return [
            Finding(
                system=system,
                check=CHECK_ID,
                severity="info",
                subject="lists-unreadable",
                title=f"SMTP lists not readable: {problem}",
                details=(
                    "Broad *ACCEPT entries cannot be ruled out. The lists live in QUSRSYS/QATMADRLST, whose "
                    "members and layout IBM does not document; the bot's profile needs *USE to the file and to "
                    "the CRTDDMF command (CREATE ALIAS) to read them.",
                ),
                facts={"members": list(lists.members) if lists else [], "problem": problem},
            )
        ]
    accept_members = [m for m in lists.members if is_accept_member(m)]
    if not accept_members and lists.members:
        return [
            Finding(
                system=system,
                check=CHECK_ID,
                severity="info",
                subject="accept-list-not-found",
                title="Cannot tell which SMTP list member is the *ACCEPT list",
                details=(
                    f"QUSRSYS/QATMADRLST has the member{'s' if len(lists.members) > 1 else ''} "
                    f"{', '.join(lists.members)}; none has {ACCEPT_MEMBER_HINT!r} in its name. {ACCEPT_HEURISTIC}",
                ),
                facts={"members": list(lists.members)},
            )
        ]
    return [
        _broad_entry(system, entry, settings)
        for entry in lists.entries
        if is_accept_member(entry.member) and too_broad(entry, settings.max_accept_prefix)
    ]


def _broad_entry(system: str, entry: SmtpListEntry, settings: SmtpRelaySettings) -> Finding:
    prefix = accept_prefix(entry)
    if prefix is None:
        return _unreadable_mask(system, entry)
    mask = entry.mask or "255.255.255.255"
    contiguous = _is_contiguous(mask)
    count = 1 << (32 - prefix)
    if prefix == 0:
        title = f"*ACCEPT entry {entry.address} mask {mask} accepts relay from every address"
        reach = "Every address on the internet may relay mail through this system when ALWRLY is *LIST or *BOTH."
    else:
        title = (
            f"*ACCEPT entry {entry.address}/{prefix} lets {count:,} addresses relay "
            f"(broader than /{settings.max_accept_prefix})"
        )
        reach = (
            f"{count:,} addresses may relay mail through this system when ALWRLY is *LIST or *BOTH; "
            f"entries up to /{settings.max_accept_prefix} are accepted by this check (max_accept_prefix)."
        )
    details = [reach]
    if not contiguous:
        details.append(f"The mask {mask} is not contiguous; the count is of the address bits it leaves free.")
    facts: dict[str, Any] = {
        "member": entry.member,
        "address": entry.address,
        "mask": mask,
        "mask_read": entry.mask,
        "prefix": prefix,
        "addresses": count,
        "record": list(entry.raw),
        "max_accept_prefix": settings.max_accept_prefix,
        "member_heuristic": ACCEPT_HEURISTIC,
    }
    try:
        remove = RemoveSmtpListEntry.build("*ACCEPT", entry.address, mask).to_cl()
    except CLValidationError:
        remove = None
    if remove:
        facts["remove_command"] = remove
        details.append(
            f"Fix (needs *IOSYSCFG): {remove}, then ADDSMTPLE TYPE(*ACCEPT) with only the hosts that must relay "
            "and a narrow SUBNETMASK (255.255.255.255 for one host). List changes apply when SMTP next starts."
        )
    details.append(f"Read from member {entry.member} of QUSRSYS/QATMADRLST. {ACCEPT_HEURISTIC}")
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="warning",
        subject=f"accept:{entry.address}/{prefix}",
        title=title,
        details=tuple(details),
        facts=facts,
    )


def _unreadable_mask(system: str, entry: SmtpListEntry) -> Finding:
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="warning",
        subject=f"accept:{entry.address}/?",
        title=f"*ACCEPT entry {entry.address} has a mask the bot cannot read ({entry.mask})",
        details=(
            "How many addresses this entry lets relay cannot be worked out, so a broad entry cannot be ruled out.",
            f"Read from member {entry.member} of QUSRSYS/QATMADRLST. {ACCEPT_HEURISTIC}",
        ),
        facts={"member": entry.member, "address": entry.address, "mask_read": entry.mask, "record": list(entry.raw)},
    )


def _is_contiguous(mask: str) -> bool:
    try:
        value = int(ipaddress.IPv4Address(mask))
    except ValueError:
        return False
    host_bits = ~value & 0xFFFFFFFF
    return host_bits & (host_bits + 1) == 0


def _short_job_name(job_name: str) -> str:
    return job_name.strip().rsplit("/", 1)[-1].upper()
