"""`/ibmi status`: each system, healthy or how it is sick (unreachable, hung, erroring, not authorised) since
when and why, and its last checks (from the bot's records)."""

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
    summary="each system: healthy or how it is sick and since when, and its last checks",
    required_role="viewer",
    needs_system=False,
    parse=grammar.parse_no_arguments,
    ack=_ack,
    order=20,
)
