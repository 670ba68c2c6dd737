"""`/ibmi end IP [PORT] [--local ADDRESS] [REASON]`: a change request to end the address's connections (ENDTCPCNN)."""

from __future__ import annotations

from bot.command_parsing import EndRequest, grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say, working


def _ack(invocation: Invocation[EndRequest]) -> Reply:
    return working("Preparing the change request…")


def _answer(invocation: Invocation[EndRequest]) -> Reply:
    return say(invocation.services.requests.request_end(invocation.system, invocation.request, invocation.user).text)


COMMAND = SubCommand(
    name="end",
    usage="end IP [PORT] [--local ADDRESS] [REASON]",
    example="end 203.0.113.7 23 unknown telnet session",
    summary="request ENDTCPCNN for the address's connections (on PORT, local or remote; to one local ADDRESS)",
    required_role="operator",
    needs_system=True,
    parse=grammar.parse_end,
    ack=_ack,
    answer=_answer,
    order=50,
)
