"""`/ibmi approvals`: the pending change requests."""

from __future__ import annotations

from bot.command_parsing import grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say


def _ack(invocation: Invocation[None]) -> Reply:
    return say(invocation.services.requests.pending_text())


COMMAND = SubCommand(
    name="approvals",
    usage="approvals",
    example="approvals",
    summary="pending change requests",
    required_role="viewer",
    needs_system=False,
    parse=grammar.parse_no_arguments,
    ack=_ack,
    order=120,
)
