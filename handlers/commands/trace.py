"""`/ibmi trace IP`: who owns an address (RDAP), looked up on the work pool."""

from __future__ import annotations

from bot.command_parsing import TraceRequest, grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say, working


def _ack(invocation: Invocation[TraceRequest]) -> Reply:
    return working("Looking up the owner…")


def _answer(invocation: Invocation[TraceRequest]) -> Reply:
    return say(invocation.services.requests.trace(str(invocation.request.address)))


COMMAND = SubCommand(
    name="trace",
    usage="trace IP",
    example="trace 203.0.113.7",
    summary="who owns an address (RDAP)",
    required_role="viewer",
    needs_system=False,
    parse=grammar.parse_trace,
    ack=_ack,
    answer=_answer,
    order=40,
)
