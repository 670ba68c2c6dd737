"""`/ibmi ping [@SYSTEM]`: a sub-command that exists only in the tests; it answers "pong" from the work pool."""

from __future__ import annotations

from bot.command_parsing import grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say, working


def _ack(invocation: Invocation[None]) -> Reply:
    return working(f"Pinging {invocation.system}…")


def _answer(invocation: Invocation[None]) -> Reply:
    return say(f"pong from {invocation.system} for <@{invocation.user}>")


COMMAND = SubCommand(
    name="ping",
    usage="ping",
    example="ping @PROD",
    summary="answers pong",
    required_role="operator",
    needs_system=True,
    parse=grammar.parse_no_arguments,
    ack=_ack,
    answer=_answer,
    order=15,
)
