"""`/ibmi netstat [SYSTEM] [--port N]`: the system's remote connections, untrusted first (read from IBM i)."""

from __future__ import annotations

from bot.command_parsing import grammar
from bot.slack import blocks
from handlers.sub_command import Invocation, Reply, SubCommand, working


def _ack(invocation: Invocation[None]) -> Reply:
    return working(f"Reading connections on {invocation.system}…")


def _answer(invocation: Invocation[None]) -> Reply:
    report = invocation.services.systems.netstat(invocation.system, invocation.parsed.port)
    return Reply(f"Connections on {report.system}", blocks.netstat_blocks(report))


COMMAND = SubCommand(
    name="netstat",
    usage="netstat [SYSTEM] [--port N]",
    example="netstat PROD --port 23",
    summary="remote connections, untrusted first",
    required_role="viewer",
    needs_system=True,
    parse=grammar.parse_netstat,
    ack=_ack,
    answer=_answer,
    order=30,
)
