"""`/ibmi help`: every declared sub-command with its usage and an example."""

from __future__ import annotations

from bot.command_parsing import grammar
from bot.slack import blocks
from handlers.sub_command import Invocation, Reply, SubCommand


def _ack(invocation: Invocation[None]) -> Reply:
    slash, declared = invocation.slash, invocation.sub_commands
    return Reply(blocks.help_text(slash, declared), blocks.help_blocks(slash, declared))


COMMAND = SubCommand(
    name="help",
    usage="help",
    example="help",
    summary="this list",
    required_role="viewer",
    needs_system=False,
    parse=grammar.parse_no_arguments,
    ack=_ack,
    order=10,
)
