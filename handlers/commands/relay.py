"""`/ibmi relay set none|list|near|both REASON`: a change request for CHGSMTPA ALWRLY (never *ALL)."""

from __future__ import annotations

from bot.command_parsing import ClRequest, grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say, working


def _ack(invocation: Invocation[ClRequest]) -> Reply:
    return working("Preparing the change request…")


def _answer(invocation: Invocation[ClRequest]) -> Reply:
    return say(invocation.services.requests.request_cl(invocation.system, invocation.request, invocation.user).text)


COMMAND = SubCommand(
    name="relay",
    usage="relay set none|list|near|both REASON",
    example="relay set list close the open relay",
    summary="request CHGSMTPA ALWRLY",
    required_role="operator",
    needs_system=True,
    parse=grammar.parse_relay,
    ack=_ack,
    answer=_answer,
    order=70,
)
