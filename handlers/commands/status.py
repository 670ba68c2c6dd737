"""`/ibmi status`: each system, reachable or its error, and its last check (from the bot's records)."""

from __future__ import annotations

from bot.command_parsing import grammar
from bot.slack import blocks
from bot.slack.storage_alarm import outage_text
from handlers.sub_command import Invocation, Reply, SubCommand


def _ack(invocation: Invocation[None]) -> Reply:
    statuses = invocation.services.systems.statuses()
    reply = Reply(blocks.status_text(statuses), blocks.status_blocks(statuses))
    problem = invocation.services.storage.current_problem()
    if problem is None:
        return reply
    warning = outage_text(problem)
    shown = (blocks.text_blocks(warning) + reply.blocks)[: blocks.MAX_MESSAGE_BLOCKS]
    return Reply(f"{warning}\n{reply.text}", shown)


COMMAND = SubCommand(
    name="status",
    usage="status",
    example="status",
    summary="each system: reachable or the error, and its last check",
    required_role="viewer",
    needs_system=False,
    parse=grammar.parse_no_arguments,
    ack=_ack,
    order=20,
)
