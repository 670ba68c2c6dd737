"""`/ibmi audit [N]`: the most recent audit events."""

from __future__ import annotations

from bot.command_parsing import AuditRequest, grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say


def _ack(invocation: Invocation[AuditRequest]) -> Reply:
    return say(invocation.services.requests.audit_text(invocation.request.count))


COMMAND = SubCommand(
    name="audit",
    usage="audit [N]",
    example="audit 20",
    summary="recent audit events (N from 1 to 100, 10 by default)",
    required_role="viewer",
    needs_system=False,
    parse=grammar.parse_audit,
    ack=_ack,
    order=130,
)
