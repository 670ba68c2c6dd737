"""`/ibmi untrust IP|CIDR [REASON]`: a change request to remove a network from the system's trust list."""

from __future__ import annotations

from bot.command_parsing import UntrustRequest, grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say, working


def _ack(invocation: Invocation[UntrustRequest]) -> Reply:
    return working("Preparing the change request…")


def _answer(invocation: Invocation[UntrustRequest]) -> Reply:
    return say(invocation.services.requests.request_trust(invocation.system, invocation.request, invocation.user).text)


COMMAND = SubCommand(
    name="untrust",
    usage="untrust IP|CIDR [REASON]",
    example="untrust 198.51.100.0/24 contract ended",
    summary="request removal from the trust list",
    required_role="operator",
    needs_system=True,
    parse=grammar.parse_untrust,
    ack=_ack,
    answer=_answer,
    order=90,
)
