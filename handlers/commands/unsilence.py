"""`/ibmi unsilence IP|FINGERPRINT`: end the silences of an address or an alert."""

from __future__ import annotations

from bot.command_parsing import UnsilenceRequest, grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say


def _ack(invocation: Invocation[UnsilenceRequest]) -> Reply:
    return say(invocation.services.requests.unsilence(invocation.request, invocation.user))


COMMAND = SubCommand(
    name="unsilence",
    usage="unsilence IP|FINGERPRINT",
    example="unsilence 203.0.113.7",
    summary="end a silence",
    required_role="operator",
    needs_system=False,
    parse=grammar.parse_unsilence,
    ack=_ack,
    order=110,
)
