"""`/ibmi trust IP|CIDR REASON`: a change request to add a network to the system's trust list."""

from __future__ import annotations

from bot.command_parsing import TrustRequest, grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say, working


def _ack(invocation: Invocation[TrustRequest]) -> Reply:
    return working("Preparing the change request…")


def _answer(invocation: Invocation[TrustRequest]) -> Reply:
    return say(invocation.services.requests.request_trust(invocation.system, invocation.request, invocation.user).text)


COMMAND = SubCommand(
    name="trust",
    usage="trust IP|CIDR REASON",
    example="trust 198.51.100.0/24 vendor VPN",
    summary="request adding to the trust list",
    required_role="operator",
    needs_system=True,
    parse=grammar.parse_trust,
    ack=_ack,
    answer=_answer,
    order=80,
)
