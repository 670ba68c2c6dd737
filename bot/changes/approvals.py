"""The approval state machine: a change to an IBM i needs a request, another person's approval, and
leaves a record.

Nothing trusts the button: it carries only the request id; the request, its system and its CL are read
from storage, and the clicker is checked against the roles on every click. A request stores the SHA-256 of
exactly what its approval message showed (also recorded in the audit log); Approve checks it, and before
anything runs the stored request is judged again by the same rules as when it was made
(`bot.changes.policy`). A request that no longer matches or no longer passes fails as tampered; nothing runs.

Every state change of a request (submit, approve, reject, execute, expire, recover) is here on purpose, so
the compare-and-set steps and the checks made before each can be read together; that keeps this module
over the usual 400 lines.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.alerting.lifecycle import AlertManager
from bot.changes import render, smtp_restart
from bot.changes.policy import ChangePolicy, cl_digest
from bot.config import Config
from bot.ibmi.access import SystemConnection
from bot.ibmi.cl import ClCommand, parse
from bot.ibmi.errors import CLCommandError, ConnectionFailedError, IbmiError, QueryTimeoutError
from bot.slack.blocks import escape_mrkdwn, ibmi_mrkdwn
from storage import approvals as store
from storage import audit, outbox
from storage.approvals import ChangeRequest
from storage.database import Storage

log = logging.getLogger(__name__)
POST, UPDATE = "chat.postMessage", "chat.update"
TRUST_ACTIONS = ("trust", "untrust")


class RoleCheck(Protocol):
    def is_operator(self, user_id: str) -> bool: ...

    def is_approver(self, user_id: str, action: str | None = None) -> bool: ...

    def is_approver_now(self, user_id: str, action: str | None = None) -> bool: ...

    def approvers_now(self, action: str | None = None) -> frozenset[str]: ...


@dataclass(frozen=True)
class Submitted:
    ok: bool
    text: str  # what to tell the requester
    request: ChangeRequest | None = None


class ApprovalService:
    def __init__(
        self,
        storage: Storage,
        config: Config,
        roles: RoleCheck,
        connection_for: Callable[[str], SystemConnection],
        clock: Callable[[], float],
        alerts: AlertManager | None = None,
        on_enqueued: Callable[[], None] = lambda: None,
    ):
        self.storage = storage
        self.config = config
        self.roles = roles
        self.connection_for = connection_for
        self.clock = clock
        self.alerts = alerts
        self.on_enqueued = on_enqueued

    @property
    def policy(self) -> ChangePolicy:
        """The rules every request is judged by, with the configuration as it is now."""
        return ChangePolicy(self.storage, self.config, self.connection_for)

    # --- requests ------------------------------------------------------------------------------

    def submit(
        self,
        *,
        system: str,
        action: str,
        params: dict[str, Any],
        commands: Sequence[ClCommand],
        summary: str,
        requester: str,
        reason: str,
        alert_fingerprint: str | None = None,
    ) -> Submitted:
        now = self.clock()
        policy = self.config.policy(action)
        if not self.roles.is_operator(requester):
            self._refused(requester, "request", system, summary, "operators or approvers may request changes", now)
            return Submitted(False, "Only operators or approvers may request changes ([roles] operators).")
        if not policy.approvers:
            self._refused(requester, "request", system, summary, f"no approvers for {action}", now)
            return Submitted(False, f"No one may approve `{action}` ([approvals] approvers); it cannot be requested.")
        if policy.reason_required and not reason.strip():
            self._refused(requester, "request", system, summary, "no reason given", now)
            return Submitted(False, "A reason is required for this change; add it after the command's arguments.")
        network = None
        if action in TRUST_ACTIONS:
            network = ipaddress.ip_network(str(params.get("network")))
        verdict = self.policy.judge(system, action, commands, network, requester)
        if verdict.refusal:
            self._refused(requester, "request", system, summary, verdict.refusal, now)
            return Submitted(False, f"Refused: {verdict.refusal}. Nothing was requested.")
        channel = self.config.slack.approvals_channel
        texts = tuple(command.to_cl() for command in commands)
        params = {**params, "effects": list(verdict.assessment.effects), "danger": verdict.assessment.danger}
        request = ChangeRequest(
            id="R" + secrets.token_hex(6),
            system=system,
            action=action,
            params=params,
            commands=texts,
            summary=summary,
            requester=requester,
            reason=reason.strip(),
            created_at=now,
            expires_at=now + policy.ttl,
            min_approvals=verdict.min_approvals,
            alert_fingerprint=alert_fingerprint,
            channel=channel,
            cl_digest=cl_digest(system, action, texts, params),
        )
        if not render.fits(request):
            why = f"the request's {len(texts)} commands do not fit in one Slack message shown in full"
            self._refused(requester, "request", system, summary, why, now)
            return Submitted(False, f"Refused: {why}. Narrow it (by port, or by local address) and request again.")
        request = ChangeRequest(**{**request.__dict__, "message_key": f"request:{request.id}"})
        with self.storage.transaction():
            store.create(self.storage, request)
            outbox.enqueue(
                self.storage,
                channel,
                POST,
                render.request_message(request),
                message_key=request.message_key,
                now=now,
            )
            audit.append(
                self.storage,
                actor=requester,
                action="request",
                system=system,
                subject=request.id,
                outcome="pending",
                details={
                    "action": action,
                    "params": params,
                    "commands": list(request.commands),
                    "reason": request.reason,
                    "cl_digest": request.cl_digest,
                    "min_approvals": request.min_approvals,
                },
                at=now,
            )
        self.on_enqueued()
        where = f"<#{channel}>" if channel.startswith(("C", "G")) else channel
        danger = (
            f" :red_circle: Dangerous: {verdict.assessment.danger}; it needs {request.min_approvals} approvals."
            if verdict.assessment.danger
            else ""
        )
        return Submitted(True, f"Request {request.id} is waiting for approval in {where}.{danger}", request)

    # --- decisions -----------------------------------------------------------------------------

    def _decidable(
        self, request_id: str, user: str, system_in_payload: str | None, verb: str, fresh: bool = True
    ) -> tuple[ChangeRequest | None, str | None]:
        """`fresh`: the user's approver role resolved again from Slack (a decision); False for the quick check
        before the rejection form opens, which must answer within Slack's 3 seconds."""
        now = self.clock()
        request = store.get(self.storage, request_id)
        if request is None:
            self._refused(user, verb, None, request_id, "no such request", now)
            return None, "That request does not exist."
        if system_in_payload is not None and system_in_payload != request.system:
            self._refused(user, verb, request.system, request_id, "the button names another system", now)
            return None, "That button does not belong to this request."
        if request.state == "pending" and request.expires_at <= now:
            self.expire()
            request = store.get(self.storage, request_id) or request
        if request.state != "pending":
            self._refused(user, verb, request.system, request_id, f"request is {request.state}", now)
            return None, f"Request {request.id} is already {request.state}; it cannot be decided."
        is_approver = self.roles.is_approver_now if fresh else self.roles.is_approver
        if not is_approver(user, request.action):
            self._refused(user, verb, request.system, request_id, "not an approver", now)
            return None, "Only approvers may decide change requests ([roles] approvers or [approvals] approvers)."
        if user == request.requester:
            self._refused(user, verb, request.system, request_id, "requester may not decide", now)
            return None, "You requested this change; another approver must decide it."
        return request, None

    def refusal(self, request_id: str, user: str, system_in_payload: str | None, verb: str) -> str | None:
        """Why `user` may not decide the request now (recorded in the audit), or None when they may."""
        return self._decidable(request_id, user, system_in_payload, verb, fresh=False)[1]

    def approve(self, request_id: str, user: str, system_in_payload: str | None = None) -> str:
        request, refusal = self._decidable(request_id, user, system_in_payload, "approve")
        if request is None:
            return refusal or "Refused."
        problem = self.policy.check_digest(request)
        if problem:
            self._refuse_tampered(request, user, f"tampered: {problem}")
            return f"Refused: request {request.id} was tampered with ({problem}). Nothing ran."
        now = self.clock()
        with self.storage.transaction():
            counted = store.add_approval(self.storage, request.id, user, now)
            if counted:
                audit.append(
                    self.storage,
                    actor=user,
                    action="approve",
                    system=request.system,
                    subject=request.id,
                    outcome="counted",
                    at=now,
                )
        if not counted:
            current = store.get(self.storage, request.id)
            if current is None or current.state != "pending":
                state = render.state_words(current.state) if current else "is gone"
                return f"Request {request.id} {state}; it cannot be decided."
            return (
                f"Your approval of {request.id} is already counted ({len(current.approvals)} "
                f"of {request.min_approvals})."
            )
        short = self._approvals_short(request, user)
        if short is not None:
            return short
        if store.claim_execution(self.storage, request.id, now):
            self._execute(request.id)
            final = store.get(self.storage, request.id)
            outcome = (final.outcome if final else None) or {}
            if outcome.get("tampered"):
                return f"{request.id} was refused before running; nothing ran: {outcome.get('text')}"
            return f"Approved; {request.id} {render.state_words(final.state) if final else 'is decided'}."
        current = store.get(self.storage, request.id)
        if current is not None and current.state == "pending":
            self._update_message(current)
            return f"Approval counted: {len(current.approvals)} of {current.min_approvals}."
        return f"Approval counted; {request.id} was decided by another click."

    def _approvals_short(self, request: ChangeRequest, user: str) -> str | None:
        """Just before execution, the stored approvals counted again against the approvers as they are now
        (user groups resolved again): None when enough still count; else the request stays pending, the
        refusal is audited and the approver is told who no longer counts."""
        current = store.get(self.storage, request.id)
        if current is None or current.state != "pending" or len(current.approvals) < current.min_approvals:
            return None  # not ready, or decided by another click: claim_execution answers
        approvers = self.roles.approvers_now(request.action)
        counted = [a for a in current.approvals if a in approvers and a != request.requester]
        if len(counted) >= current.min_approvals:
            return None
        gone = [a for a in current.approvals if a not in counted]
        names = ", ".join(f"<@{a}>" for a in gone)
        self._refused(
            user,
            "execute",
            request.system,
            request.id,
            f"approvals no longer count ({', '.join(gone)} no longer approvers): "
            f"{len(counted)} of {current.min_approvals}",
            self.clock(),
        )
        return (
            f"Not run: {names} {'is no longer an approver' if len(gone) == 1 else 'are no longer approvers'} "
            f"of `{request.action}`, so {len(counted)} of {current.min_approvals} approvals count. "
            f"{request.id} stays pending until another approver approves it."
        )

    def reject(self, request_id: str, user: str, reason: str, system_in_payload: str | None = None) -> str:
        request, refusal = self._decidable(request_id, user, system_in_payload, "reject")
        if request is None:
            return refusal or "Refused."
        now = self.clock()
        reason = reason.strip() or "no reason given"
        with self.storage.transaction():
            if not store.reject(self.storage, request.id, user, reason, now):
                return f"{request.id} was decided by another click."
            audit.append(
                self.storage,
                actor=user,
                action="reject",
                system=request.system,
                subject=request.id,
                outcome="rejected",
                details={"reason": reason},
                at=now,
            )
            rejected = store.get(self.storage, request.id)
            assert rejected is not None
            self._announce(
                rejected,
                f"<@{request.requester}> your request {request.id} was rejected by <@{user}>: {escape_mrkdwn(reason)}",
                now,
            )
        self.on_enqueued()
        return f"Rejected {request.id}."

    # --- execution -----------------------------------------------------------------------------

    def _execute(self, request_id: str) -> None:
        """Runs once per request: only the caller that won claim_execution gets here."""
        request = store.get(self.storage, request_id)
        assert request is not None and request.state == "executing"
        self._update_message(request)
        refusal: str | None
        try:
            verdict = self.policy.revalidate(request, len(request.decided_by))
            refusal, kind = verdict.refusal, "tampered" if verdict.tampered else "no longer allowed"
        except Exception as error:  # a check that cannot be made is a refusal, never a pass
            log.exception("request %s could not be checked again", request.id)
            refusal, kind = f"it could not be checked again before running ({error})", "not checked"
        if refusal:
            self._refuse_tampered(request, "ibmi-warden", f"{kind}: {refusal}")
            return
        try:
            state, outcome = self._run(request)
        except Exception as error:  # the outcome must be recorded whatever happened
            log.exception("request %s failed unexpectedly", request.id)
            state, outcome = "failed", {"ok": False, "text": f"error: {error}"}
        now = self.clock()
        with self.storage.transaction():
            recorded = store.finish(self.storage, request.id, state, outcome)
            finished = store.get(self.storage, request.id)
            assert finished is not None
            audit.append(
                self.storage,
                actor="ibmi-warden",
                action="execute",
                system=request.system,
                subject=request.id,
                outcome=(
                    f"{state}: {outcome['text']}"
                    if recorded
                    else f"{state}, but the request was already {finished.state}: {outcome['text']}"
                ),
                details={
                    "commands": list(request.commands),
                    **({"job_log": outcome["job_log"]} if "job_log" in outcome else {}),
                },
                at=now,
            )
            self._announce(
                finished,
                f"<@{request.requester}> request {request.id} {render.state_words(finished.state)}: "
                f"{ibmi_mrkdwn(outcome['text'])}",
                now,
            )
        self.on_enqueued()

    def _run(self, request: ChangeRequest) -> tuple[str, dict[str, Any]]:
        """(done | failed | unknown, outcome). A dropped connection or a timeout mid-command is "unknown":
        the command may have run."""
        if request.action in TRUST_ACTIONS:
            return self._change_trust(request)
        connection = self.connection_for(request.system)
        results = []
        for text in request.commands:
            command = parse(text)  # the stored canonical CL, validated again before it runs
            try:
                connection.run_cl(command)
                results.append(f"{text}: completed")
            except CLCommandError as error:
                results.append(f"{text}: {error.message_id or 'failed'} {error.text}")
                results += [f"job log: {message.describe()}" for message in error.job_log]
                return "failed", {
                    "ok": False,
                    "text": "\n".join(results),
                    "message_id": error.message_id,
                    "job_log": [[message.message_id, message.message_type, message.text] for message in error.job_log],
                }
            except (ConnectionFailedError, QueryTimeoutError) as error:
                results.append(f"{text}: {error}")
                return "unknown", {"ok": None, "text": "\n".join(results) + "\nVerify on the system before any retry."}
            except IbmiError as error:
                results.append(f"{text}: {error}")
                return "failed", {"ok": False, "text": "\n".join(results)}
        note = smtp_restart.done_note(request.action, request.system)
        return "done", {"ok": True, "text": "\n".join([*results, *([note] if note else [])])}

    def _change_trust(self, request: ChangeRequest) -> tuple[str, dict[str, Any]]:
        network = request.params["network"]
        now = self.clock()
        if request.action == "trust":
            store.add_trusted(self.storage, request.system, network, request.reason, request.requester, request.id, now)
            return "done", {"ok": True, "text": f"{network} is trusted on {request.system}"}
        if store.remove_trusted(self.storage, request.system, network):
            return "done", {"ok": True, "text": f"{network} is no longer trusted on {request.system}"}
        return "failed", {
            "ok": False,
            "text": f"{network} was not trusted by approval on {request.system} "
            "(networks in the configuration file change only there)",
        }

    def _refuse_tampered(self, request: ChangeRequest, actor: str, why: str) -> None:
        """The request fails without running anything: recorded, audited and shown as tampered."""
        now = self.clock()
        outcome = {"ok": False, "tampered": True, "text": f"Refused before running, nothing ran: {why}"}
        with self.storage.transaction():
            changed = store.refuse_tampered(self.storage, request.id, outcome, now)
            audit.append(
                self.storage,
                actor=actor,
                action="refused",
                system=request.system,
                subject=request.id,
                outcome=f"refused: execute: {why}",
                details={"commands": list(request.commands), "cl_digest": request.cl_digest},
                at=now,
            )
            current = store.get(self.storage, request.id)
            if changed and current is not None:
                self._announce(
                    current,
                    f"<@{request.requester}> request {request.id} was refused before running: {ibmi_mrkdwn(why)}",
                    now,
                )
        self.on_enqueued()

    # --- housekeeping --------------------------------------------------------------------------

    def expire(self) -> list[ChangeRequest]:
        now = self.clock()
        with self.storage.transaction():
            expired = store.expire_due(self.storage, now)
            self._record_ended(
                expired,
                "expire",
                "expired",
                lambda request: f"<@{request.requester}> request {request.id} expired without a decision.",
                now,
            )
        if expired:
            self.on_enqueued()  # after the commit, so the delivery worker finds the messages
        return expired

    def recover(self) -> list[ChangeRequest]:
        """At start-up: a request left executing is marked unknown and a person is asked to verify."""
        now = self.clock()
        with self.storage.transaction():
            interrupted = store.mark_interrupted(self.storage)
            self._record_ended(
                interrupted,
                "unknown",
                "unknown: the bot stopped while the command ran",
                lambda request: (
                    f"<@{request.requester}> the bot stopped while request {request.id} ran. "
                    "Its outcome is unknown: please verify on the system. It will not be run again."
                ),
                now,
            )
        if interrupted:
            self.on_enqueued()
        return interrupted

    def _record_ended(
        self,
        requests: Sequence[ChangeRequest],
        action: str,
        outcome: str,
        text_of: Callable[[ChangeRequest], str],
        now: float,
    ) -> None:
        """The bot's own end of each request (expired, or unknown after a crash): one audit row and one message
        each, written in the caller's transaction."""
        for request in requests:
            audit.append(
                self.storage,
                actor="ibmi-warden",
                action=action,
                system=request.system,
                subject=request.id,
                outcome=outcome,
                at=now,
            )
            self._announce(request, text_of(request), now)

    # --- messages ------------------------------------------------------------------------------

    def _update_message(self, request: ChangeRequest) -> None:
        if request.channel and request.message_key:
            with self.storage.transaction():
                outbox.enqueue(
                    self.storage,
                    request.channel,
                    UPDATE,
                    render.request_message(request),
                    target_key=request.message_key,
                    now=self.clock(),
                )
            self.on_enqueued()

    def _announce(self, request: ChangeRequest, text: str, now: float) -> None:
        """Edit the request's message, tell the requester in its thread, and the alert's thread and message if any."""
        if request.channel and request.message_key:
            outbox.enqueue(
                self.storage,
                request.channel,
                UPDATE,
                render.request_message(request),
                target_key=request.message_key,
                now=now,
            )
            outbox.enqueue(
                self.storage, request.channel, POST, render.reply(text), thread_key=request.message_key, now=now
            )
        if self.alerts is not None and request.alert_fingerprint:
            self.alerts.reply(
                request.alert_fingerprint,
                render.reply(f"Change request {request.id} ({render.summary_mrkdwn(request)}): {request.state}"),
            )
            self.alerts.refresh([request.alert_fingerprint])  # the alert's message shows the request's state

    def _refused(self, user: str, verb: str, system: str | None, subject: str, why: str, now: float) -> None:
        audit.append(
            self.storage,
            actor=user,
            action="refused",
            system=system,
            subject=subject,
            outcome=f"refused: {verb}: {why}",
            at=now,
        )
