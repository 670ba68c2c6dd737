"""The danger policy of a change, computed from the addresses it covers: what it opens, in words, whether it is
refused, and whether it is dangerous (needing the stronger approval policy).

Pure functions of what the change asks and what the system holds already (the SMTP lists, the trusted networks,
the jobs behind connections); `bot.changes.policy` gathers those. Coverage is counted in addresses, merged as
ranges, so two entries that together cover more than either alone are judged together.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.changes import smtp_restart
from bot.config import ApprovalLimits
from bot.ibmi.cl import AddSmtpListEntry, ChangeSmtpRelay, ClCommand, EndTcpConnection, RemoveSmtpListEntry
from bot.ibmi.rows import ConnectionJob
from bot.net import parse_address, render_address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV4_SPACE = 1 << 32

RELAY_WORDS = {
    "*NONE": "no host may relay mail through the SMTP server",
    "*LIST": "hosts on the *ACCEPT list may relay mail",
    "*NEAR": "hosts on the local networks may relay mail",
    "*BOTH": "hosts on the *ACCEPT list and on the local networks may relay mail",
    "*ALL": "every address on the internet may relay mail through the SMTP server (an open relay)",
}
SECURITY_OFFICER = "QSECOFR"


@dataclass(frozen=True)
class Assessment:
    """What a change does in words, and the policy's verdict: refused (why), dangerous (why), or neither."""

    effects: tuple[str, ...] = ()
    refusal: str | None = None
    danger: str | None = None  # why the change is dangerous; None when it is not

    @property
    def dangerous(self) -> bool:
        return self.danger is not None


@dataclass(frozen=True)
class SystemFacts:
    """What the system holds already. None where it could not be read (the effect is then partly unknown)."""

    accept: tuple[ipaddress.IPv4Network, ...] | None = None
    reject: tuple[ipaddress.IPv4Network, ...] | None = None
    trusted: tuple[Network, ...] = ()
    jobs: tuple[ConnectionJob, ...] | None = None
    bot_profile: str | None = None
    notes: tuple[str, ...] = field(default=())


def count(number: int) -> str:
    return f"{number:,} address{'es' if number != 1 else ''}"


def covered(networks: Iterable[Network]) -> int:
    """How many distinct addresses the networks cover together (one family at a time)."""
    total, end = 0, -1
    for start, last in sorted((int(n.network_address), int(n.broadcast_address)) for n in networks):
        if last <= end:
            continue
        total += last - max(start, end + 1) + 1
        end = last
    return total


def _limit(prefix: int, version: int = 4) -> int:
    return 1 << ((32 if version == 4 else 128) - prefix)


def assess(
    action: str, commands: Sequence[ClCommand], network: Network | None, facts: SystemFacts, limits: ApprovalLimits
) -> Assessment:
    if len(commands) > limits.max_commands:
        return Assessment(
            refusal=f"{len(commands)} commands is more than the {limits.max_commands} one request may run"
        )
    if action in ("trust", "untrust"):
        if network is None or commands:
            return Assessment(refusal=f"a {action} request names one network and runs no CL")
        return _trust(network, facts, limits) if action == "trust" else _untrust(network, facts)
    if action == smtp_restart.RESTART_ACTION:
        if not smtp_restart.is_restart(commands):
            return Assessment(refusal="an SMTP restart runs ENDTCPSVR SERVER(*SMTP), then STRTCPSVR SERVER(*SMTP)")
        return Assessment(effects=smtp_restart.RESTART_EFFECTS)
    expected = {
        "end-connection": EndTcpConnection,
        "smtp-add": AddSmtpListEntry,
        "smtp-remove": RemoveSmtpListEntry,
        "relay-set": ChangeSmtpRelay,
    }.get(action)
    if expected is None or not commands or any(type(c) is not expected for c in commands):
        return Assessment(refusal=f"the commands are not what a {action} request runs")
    if action != "end-connection" and len(commands) != 1:
        return Assessment(refusal=f"a {action} request runs exactly one command")
    command = commands[0]
    if isinstance(command, AddSmtpListEntry):
        return _pending_restart(_smtp_add(command, facts, limits))
    if isinstance(command, RemoveSmtpListEntry):
        return _pending_restart(_smtp_remove(command))
    if isinstance(command, ChangeSmtpRelay):
        return _relay(command)
    return _end(commands, facts)


def _pending_restart(assessment: Assessment) -> Assessment:
    if assessment.refusal:
        return assessment
    return dataclasses.replace(assessment, effects=(*assessment.effects, smtp_restart.PENDING_EFFECT))


def _entry_network(entry: AddSmtpListEntry | RemoveSmtpListEntry) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{entry.address}/{entry.mask}", strict=False)


def _smtp_add(entry: AddSmtpListEntry, facts: SystemFacts, limits: ApprovalLimits) -> Assessment:
    new = _entry_network(entry)
    size = new.num_addresses
    if entry.list_type == "*REJECT":
        return _reject(new, facts, limits)
    if new.prefixlen < limits.smtp_accept_max_prefix:
        return Assessment(
            refusal=f"an *ACCEPT entry for {new} lets {count(size)} relay mail; entries broader than "
            f"/{limits.smtp_accept_max_prefix} ({count(_limit(limits.smtp_accept_max_prefix))}) are refused "
            "([approvals.limits] smtp_accept_max_prefix). Give the network that must relay, such as a /24."
        )
    effects = [f"Adds *ACCEPT {new}: relay for {count(size)} when ALWRLY is *LIST or *BOTH."]
    if facts.accept is None:
        effects.append("The *ACCEPT list could not be read, so how many addresses may relay in all is unknown.")
        return Assessment(effects=tuple(effects))
    before, after = covered(facts.accept), covered((*facts.accept, new))
    added = after - before
    effects.append(
        f"{count(added)} not already on the list; the *ACCEPT list will let {count(after)} relay in all "
        f"({len(facts.accept) + 1} entries)."
    )
    total_limit = _limit(limits.smtp_accept_total_max_prefix)
    if added and after > total_limit:
        return Assessment(
            effects=tuple(effects),
            refusal=f"with this entry the *ACCEPT list would let {count(after)} relay mail, more than a "
            f"/{limits.smtp_accept_total_max_prefix} holds ({count(total_limit)}; [approvals.limits] "
            "smtp_accept_total_max_prefix). Remove broad entries first.",
        )
    threshold = _limit(limits.dangerous_prefix_ipv4)
    if added and after > threshold:
        return Assessment(
            effects=tuple(effects),
            danger=f"the *ACCEPT list would let {count(after)} relay mail, more than a "
            f"/{limits.dangerous_prefix_ipv4} holds",
        )
    return Assessment(effects=tuple(effects))


def _reject(new: ipaddress.IPv4Network, facts: SystemFacts, limits: ApprovalLimits) -> Assessment:
    if new.prefixlen == 0:
        return Assessment(refusal="a *REJECT entry with mask 0.0.0.0 refuses mail from every address")
    effects = [f"Adds *REJECT {new}: mail from {count(new.num_addresses)} is refused."]
    if facts.reject is not None:
        after = covered((*facts.reject, new))
        if after >= IPV4_SPACE:
            return Assessment(
                effects=tuple(effects),
                refusal="with this entry the *REJECT list would refuse mail from every IPv4 address",
            )
        effects.append(f"The *REJECT list will refuse mail from {count(after)} in all.")
        added = after - covered(facts.reject)
    else:
        effects.append("The *REJECT list could not be read, so how many addresses it refuses in all is unknown.")
        added = new.num_addresses
    if added > _limit(limits.dangerous_prefix_ipv4):
        return Assessment(
            effects=tuple(effects),
            danger=f"mail from {count(added)} more would be refused, more than a /{limits.dangerous_prefix_ipv4} holds",
        )
    return Assessment(effects=tuple(effects))


def _smtp_remove(entry: RemoveSmtpListEntry) -> Assessment:
    network = _entry_network(entry)
    if entry.list_type == "*ACCEPT":
        return Assessment(effects=(f"Removes *ACCEPT {network}: {count(network.num_addresses)} may no longer relay.",))
    return Assessment(
        effects=(f"Removes *REJECT {network}: mail from {count(network.num_addresses)} is accepted again.",)
    )


def _relay(command: ChangeSmtpRelay) -> Assessment:
    effect = f"Sets ALWRLY({command.allow_relay}): {RELAY_WORDS.get(command.allow_relay, command.allow_relay)}."
    if command.allow_relay == "*ALL":
        return Assessment(effects=(effect,), danger="ALWRLY(*ALL) makes the system an open relay")
    return Assessment(effects=(effect,))


def _trust(network: Network, facts: SystemFacts, limits: ApprovalLimits) -> Assessment:
    v4 = network.version == 4
    widest = limits.trust_max_prefix_ipv4 if v4 else limits.trust_max_prefix_ipv6
    if network.prefixlen == 0 or network.prefixlen < widest:
        key = "trust_max_prefix_ipv4" if v4 else "trust_max_prefix_ipv6"
        return Assessment(
            refusal=f"trusting {network} would stop alerts for {count(network.num_addresses)}; networks broader than "
            f"/{widest} are refused ([approvals.limits] {key})"
        )
    same_family = [n for n in facts.trusted if n.version == network.version]
    added = covered((*same_family, network)) - covered(same_family)
    effects = (
        f"Changes nothing on IBM i: {count(added)} no longer alerted by unknown-connections "
        f"({network} covers {count(network.num_addresses)}), and plaintext sessions from them count as trusted.",
    )
    threshold_prefix = limits.dangerous_prefix_ipv4 if v4 else limits.dangerous_prefix_ipv6
    if added > _limit(threshold_prefix, network.version):
        return Assessment(
            effects=effects, danger=f"{count(added)} would no longer be alerted, more than a /{threshold_prefix} holds"
        )
    return Assessment(effects=effects)


def _untrust(network: Network, facts: SystemFacts) -> Assessment:
    return Assessment(
        effects=(
            f"Changes nothing on IBM i: connections from {network} ({count(network.num_addresses)}) are alerted again.",
        )
    )


def _end(commands: Sequence[ClCommand], facts: SystemFacts) -> Assessment:
    ends = [c for c in commands if isinstance(c, EndTcpConnection)]
    for command in ends:
        remote = parse_address(render_address(command.remote_address))
        if remote is None or remote.is_loopback or remote.is_unspecified:
            return Assessment(refusal=f"{command.remote_address} is the system itself (loopback or unspecified)")
    jobs: dict[tuple[str, int, str, int], list[ConnectionJob]] = {}
    for job in facts.jobs or ():
        key = (_norm(job.local_address), job.local_port, _norm(job.remote_address), job.remote_port)
        jobs.setdefault(key, []).append(job)
    effects = [f"Ends {len(ends)} TCP connection{'s' if len(ends) != 1 else ''} (ENDTCPCNN on IBM i):"]
    if facts.bot_profile is None:
        effects.append("The bot's own profile is not known, so whether one of these is the bot's own is unconfirmed.")
    for command in ends:
        key = (
            _norm(render_address(command.local_address)),
            command.local_port,
            _norm(render_address(command.remote_address)),
            command.remote_port,
        )
        where = f"{command.remote_address}:{command.remote_port} → {command.local_address}:{command.local_port}"
        found = jobs.get(key, [])
        own = [j for j in found if facts.bot_profile and (j.authorization_name or "").upper() == facts.bot_profile]
        if own:
            return Assessment(refusal=f"the connection {where} is the bot's own (user {facts.bot_profile})")
        if facts.jobs is None:
            effects.append(f"• {where}: job and user unconfirmed (NETSTAT_JOB_INFO not readable)")
        elif not found:
            effects.append(f"• {where}: job and user unconfirmed (no NETSTAT_JOB_INFO row)")
        else:
            effects.append("• " + where + ": " + "; ".join(_job_words(j) for j in found))
    return Assessment(effects=tuple(effects))


def _job_words(job: ConnectionJob) -> str:
    user = job.authorization_name or "unknown user"
    flag = " — the security officer's session" if user.upper() == SECURITY_OFFICER else ""
    return f"job {job.job_name or 'unknown'}, user {user}{flag}"


def _norm(text: str) -> str:
    address = parse_address(text)
    return text if address is None else render_address(address)
