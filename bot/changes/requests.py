"""What `/ibmi` asks of the bot beyond reading: owner lookups, the SMTP lists, change requests (handed to the
approval workflow), silences, and the approvals and audit listings.

Every value arriving here was validated by bot/command_parsing or cl.py; this module decides nothing
about who may do what beyond asking `roles`, and builds no CL of its own except from NETSTAT rows
through cl.py's builders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from bot.alerting.silences import SilenceService
from bot.changes.approvals import ApprovalService, Submitted
from bot.changes.render import summary_mrkdwn
from bot.command_parsing import (
    ClRequest,
    EndRequest,
    SilenceRequest,
    SmtpRestartRequest,
    TrustRequest,
    UnsilenceRequest,
    UntrustRequest,
)
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.cl import ClCommand, EndTcpConnection
from bot.ibmi.rows import NetstatConnection, parse_address
from bot.net import is_local
from bot.slack.blocks import escape_mrkdwn, ibmi_mrkdwn, mention
from bot.slack.permalinks import linked
from bot.trace import Owner, TraceError, Tracer, describe_owner
from storage import approvals as requests_store
from storage import audit
from storage.database import Storage


def _too_many(address: object, where: str, rows: list[NetstatConnection], limit: int) -> str:
    """The refusal of an `end` over the cap, with how the connections divide by port and local address."""
    ports = Counter(row.local_port for row in rows)
    locals_ = Counter(row.local_address for row in rows)
    by_port = ", ".join(f"{port}: {n}" for port, n in ports.most_common(10))
    by_local = ", ".join(f"{local}: {n}" for local, n in locals_.most_common(10))
    return (
        f"Refused: {len(rows)} connections from {address}{where} match, more than the {limit} one request may end "
        f"([approvals.limits] max_commands). By local port: {by_port}. By local address: {by_local}. "
        f"Narrow it by port (`end {address} PORT`) or by local address (`end {address} --local ADDRESS`)."
    )


def owner_text(owner: Owner) -> str:
    """The owner's description (`describe_owner`) in Slack mrkdwn: the address in bold, every value escaped."""
    description = describe_owner(owner)
    lines = [f"*{description.address}*: {escape_mrkdwn(description.summary)}"]
    lines += [f"{label}: {escape_mrkdwn(value)}" for label, value in description.facts]
    return "\n".join(lines)


class ChangeRequests:
    def __init__(
        self,
        storage: Storage,
        approvals: ApprovalService,
        tracer: Tracer,
        silences: SilenceService,
        connection_for: Callable[[str], SystemConnection],
        permalink: Callable[[str], str | None] = lambda message_key: None,
    ):
        self.storage = storage
        self.approvals = approvals
        self.tracer = tracer
        self.silences = silences
        self.connection_for = connection_for
        self.permalink = permalink  # Slack's link to a posted message (bot.slack.permalinks), None without one

    def trace(self, address: str) -> str:
        try:
            return owner_text(self.tracer.trace(address))
        except TraceError as error:
            return f"Could not trace {address}: {error.message}"

    def smtp_lists(self, system: str, list_type: str | None) -> str:
        reading = sql.read_smtp_lists(self.connection_for(system))
        if not reading.readable:
            problem = ibmi_mrkdwn(str(reading.problem))
            return f"The SMTP lists of {system} are not readable: {problem}. That is not the same as empty."
        wanted = {"*ACCEPT": "ACC", "*REJECT": "REJ"}.get(list_type or "", "")
        entries = [e for e in reading.entries if wanted in e.member.upper()]
        if not entries:
            members = ibmi_mrkdwn(", ".join(reading.members))
            return f"No {ibmi_mrkdwn(list_type or 'SMTP list')} entries on {system} (members read: {members})."
        lines = [f"`{e.address}` mask `{e.mask or '255.255.255.255'}` (member {e.member})" for e in entries]
        return (
            f"SMTP list entries on {system} (QUSRSYS/QATMADRLST; layout discovered at run time):\n"
            + "\n".join(lines[:100])
            + (f"\n…and {len(lines) - 100} more" if len(lines) > 100 else "")
        )

    def request_end(
        self, system: str, request: EndRequest, requester: str, alert_fingerprint: str | None = None
    ) -> Submitted:
        connection = self.connection_for(system)
        rows = [
            row
            for row in sql.read_tcp_connections(connection)
            if row.is_established
            and parse_address(row.remote_address) == request.address
            and (request.port is None or request.port in (row.local_port, row.remote_port))
            and (request.local_address is None or parse_address(row.local_address) == request.local_address)
        ]
        where = (f" on port {request.port}" if request.port else "") + (
            f" to local address {request.local_address}" if request.local_address else ""
        )
        if not rows:
            return Submitted(False, f"No established connection from {request.address}{where} on {system}.")
        if any(is_local(parse_address(row.local_address) or request.address) for row in rows):
            return Submitted(False, f"Refused: connections from {request.address} are the system's own (loopback).")
        limit = self.approvals.config.approval_limits.max_commands
        if len(rows) > limit:
            return Submitted(False, _too_many(request.address, where, rows, limit))
        commands = [
            EndTcpConnection.build(
                local_address=row.local_address,
                local_port=row.local_port,
                remote_address=row.remote_address,
                remote_port=row.remote_port,
            )
            for row in rows
        ]
        connections = [
            {"local": f"{r.local_address}:{r.local_port}", "remote": f"{r.remote_address}:{r.remote_port}"}
            for r in rows
        ]
        return self.approvals.submit(
            system=system,
            action=request.action,
            commands=commands,
            requester=requester,
            reason=request.reason,
            params={
                "address": str(request.address),
                "port": request.port,
                "local_address": str(request.local_address) if request.local_address else None,
                "connections": connections,
            },
            summary=f"End {len(rows)} connection{'s' if len(rows) > 1 else ''} from {request.address}{where}",
            alert_fingerprint=alert_fingerprint,
        )

    def request_cl(self, system: str, request: ClRequest, requester: str) -> Submitted:
        return self.approvals.submit(
            system=system,
            action=request.action,
            commands=[request.command],
            requester=requester,
            reason=request.reason,
            params={"command": request.to_cl()},
            summary=request.to_cl(),
        )

    def request_smtp_restart(self, system: str, request: SmtpRestartRequest, requester: str) -> Submitted:
        commands: list[ClCommand] = list(request.commands)
        return self.approvals.submit(
            system=system,
            action=request.action,
            commands=commands,
            requester=requester,
            reason=request.reason,
            params={"commands": [command.to_cl() for command in commands]},
            summary="Restart the SMTP server",
        )

    def request_trust(
        self, system: str, request: TrustRequest | UntrustRequest, requester: str, alert_fingerprint: str | None = None
    ) -> Submitted:
        verb = "Trust" if request.action == "trust" else "Stop trusting"
        return self.approvals.submit(
            system=system,
            action=request.action,
            commands=[],
            requester=requester,
            reason=request.reason,
            params={"network": str(request.network)},
            summary=f"{verb} {request.network}",
            alert_fingerprint=alert_fingerprint,
        )

    def silence(self, request: SilenceRequest, author: str) -> str:
        return self.silences.silence_target(request.kind, request.target, request.seconds, request.reason, author)

    def unsilence(self, request: UnsilenceRequest, author: str) -> str:
        return self.silences.end(request.kind, request.target, author)

    def pending_text(self) -> str:
        pending = requests_store.pending(self.storage)
        if not pending:
            return "No change requests are waiting for approval."
        lines = []
        for request in pending:
            name = linked(request.id, self.permalink(request.message_key) if request.message_key else None)
            lines.append(
                f"• {name} {summary_mrkdwn(request)} on {escape_mrkdwn(request.system)}, by <@{request.requester}>, "
                f"{len(request.approvals)} of {request.min_approvals} approvals"
            )
        return "Waiting for approval:\n" + "\n".join(lines)

    def audit_text(self, count: int) -> str:
        events = audit.recent(self.storage, count)
        if not events:
            return "The audit log is empty."
        lines = [
            f"`{e.at_text[:19]}Z` {mention(e.actor)} {e.action} {e.system or '-'} "
            f"{ibmi_mrkdwn(e.subject)}: {ibmi_mrkdwn(e.outcome)}"
            for e in reversed(events)
        ]
        return "Recent audit events:\n" + "\n".join(lines)
