"""The rules a change request must pass, applied the same way when it is made, when it is approved and before it
runs: what the approval message shows and its digest, the caps, strict parsing of the stored CL, and the danger
policy (`bot.changes.danger`) over what the system holds at that moment.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.changes.danger import Assessment, Network, SystemFacts, assess
from bot.checks.smtp_relay.accept_list import is_accept_member
from bot.config import ApprovalPolicy, Config
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.cl import ClCommand, parse
from bot.ibmi.drivers.demo.seed import BOT_PROFILE as DEMO_BOT_PROFILE
from bot.ibmi.errors import IbmiError
from storage import approvals as store
from storage.database import Storage

log = logging.getLogger(__name__)
TRUST_ACTIONS = ("trust", "untrust")
REJECT_MEMBER_HINT = "REJ"


def shown_lines(action: str, commands: Sequence[str], params: dict[str, Any]) -> list[str]:
    """The lines of the approval message's code block: the exact CL, or the trust-list change (which runs no CL)."""
    if action in TRUST_ACTIONS:
        return [f"{action} {params.get('network')}"]
    return list(commands)


def cl_digest(system: str, action: str, commands: Sequence[str], params: dict[str, Any]) -> str:
    """SHA-256 of the system, the action and the lines shown, one per line."""
    text = "\n".join([system, action, *shown_lines(action, commands, params)])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """A request judged: refused (why; `tampered` when the stored request differs from what was shown), or allowed
    with its assessment and the approvals it needs."""

    assessment: Assessment
    min_approvals: int
    refusal: str | None = None
    tampered: bool = False


class ChangePolicy:
    def __init__(self, storage: Storage, config: Config, connection_for: Callable[[str], SystemConnection]):
        self.storage = storage
        self.config = config
        self.limits = config.approval_limits
        self.connection_for = connection_for

    # --- what a request is judged against ------------------------------------------------------------

    def facts(self, system: str, action: str) -> SystemFacts:
        """What the system holds that this kind of change is judged against (read now, from IBM i or storage)."""
        if action in TRUST_ACTIONS:
            configured: tuple[Network, ...] = ()
            try:
                configured = tuple(self.config.system(system).trusted)
            except KeyError:
                pass
            approved = tuple(ipaddress.ip_network(n) for n in store.trusted_networks(self.storage, system))
            return SystemFacts(trusted=configured + approved)
        connection = self.connection_for(system)
        if action == "smtp-add":
            try:
                reading = sql.read_smtp_lists(connection)
            except IbmiError as error:
                log.warning("SMTP lists of %s not readable for the danger policy: %s", system, error)
                return SystemFacts()
            if not reading.readable:
                return SystemFacts()
            accept = tuple(n for e in reading.entries if is_accept_member(e.member) and (n := e.network) is not None)
            reject = tuple(
                n for e in reading.entries if REJECT_MEMBER_HINT in e.member.upper() and (n := e.network) is not None
            )
            return SystemFacts(accept=accept, reject=reject)
        if action == "end-connection":
            try:
                jobs = tuple(sql.read_connection_jobs(connection))
            except IbmiError as error:
                log.warning("connection jobs of %s not readable: %s", system, error)
                jobs = None
            return SystemFacts(jobs=jobs, bot_profile=self.bot_profile(system))
        return SystemFacts()

    def bot_profile(self, system: str) -> str | None:
        """The profile the bot signs on with (the demo's service profile, or the user_env variable's value)."""
        try:
            settings = self.config.system(system)
        except KeyError:
            return None
        if settings.is_demo:
            return DEMO_BOT_PROFILE
        user = os.environ.get(settings.user_env or "", "").strip()
        return user.upper() or None

    # --- judging ---------------------------------------------------------------------------------------

    def judge(
        self,
        system: str,
        action: str,
        commands: Sequence[ClCommand],
        network: Network | None,
        requester: str,
        facts: SystemFacts | None = None,
    ) -> Verdict:
        """The verdict on a change as it would be made now."""
        policy = self.config.policy(action)
        assessment = assess(action, commands, network, facts or self.facts(system, action), self.limits)
        if assessment.refusal:
            return Verdict(assessment, policy.min_approvals, refusal=assessment.refusal)
        needed = self.approvals_needed(policy, assessment)
        shortfall = _too_few_approvers(policy, needed, requester) if needed > policy.min_approvals else None
        if shortfall:
            return Verdict(assessment, needed, refusal=shortfall)
        return Verdict(assessment, needed)

    def approvals_needed(self, policy: ApprovalPolicy, assessment: Assessment) -> int:
        if assessment.dangerous:
            return max(policy.min_approvals, self.limits.dangerous_min_approvals)
        return policy.min_approvals

    def check_digest(self, request: store.ChangeRequest) -> str | None:
        """Why the stored request is not what the approval message showed, or None when it is."""
        if request.cl_digest is None:
            return "it was made before requests carried a digest of what was shown; request it again"
        recomputed = cl_digest(request.system, request.action, request.commands, request.params)
        if recomputed != request.cl_digest:
            return "its stored commands no longer match what the approval message showed"
        if store.digest_in_audit(self.storage, request.id) != request.cl_digest:
            return "its digest no longer matches the one recorded in the audit log when it was requested"
        return None

    def revalidate(self, request: store.ChangeRequest, approvals: int) -> Verdict:
        """The stored request judged again before it runs: digest, strict parse, caps, danger policy, approvals."""
        policy = self.config.policy(request.action)
        none = Assessment()
        problem = self.check_digest(request)
        if problem:
            return Verdict(none, policy.min_approvals, refusal=problem, tampered=True)
        commands: list[ClCommand] = []
        for text in request.commands:
            try:
                command = parse(text)
            except ValueError as error:  # CLParseError or CLValidationError
                return Verdict(
                    none, policy.min_approvals, refusal=f"a stored command does not parse: {error}", tampered=True
                )
            if command.to_cl() != text:
                return Verdict(
                    none, policy.min_approvals, refusal="a stored command is not in canonical form", tampered=True
                )
            commands.append(command)
        network = None
        if request.action in TRUST_ACTIONS:
            try:
                network = ipaddress.ip_network(str(request.params.get("network")))
            except ValueError:
                return Verdict(none, policy.min_approvals, refusal="the stored network is not a network", tampered=True)
        verdict = self.judge(request.system, request.action, commands, network, request.requester)
        if verdict.refusal:
            return verdict
        if approvals < verdict.min_approvals:
            return Verdict(
                verdict.assessment,
                verdict.min_approvals,
                refusal=f"it now needs {verdict.min_approvals} approvals and has {approvals}",
            )
        return verdict


def _too_few_approvers(policy: ApprovalPolicy, needed: int, requester: str) -> str | None:
    """When only listed user ids may approve and fewer than `needed` of them are not the requester."""
    if any(member.startswith("@") for member in policy.approvers):
        return None  # a user group's size is known only to Slack
    others = set(policy.approvers) - {requester}
    if len(others) >= needed:
        return None
    return (
        f"it needs {needed} approvals from approvers other than the requester, and only {len(others)} "
        "are configured ([approvals] approvers)"
    )
