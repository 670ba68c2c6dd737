"""`/ibmi silence IP|FINGERPRINT DURATION REASON`: no alerts about an address or one alert for a while."""

from __future__ import annotations

from bot.command_parsing import SilenceRequest, grammar
from handlers.sub_command import Invocation, Reply, SubCommand, say


def _ack(invocation: Invocation[SilenceRequest]) -> Reply:
    return say(invocation.services.requests.silence(invocation.request, invocation.user))


COMMAND = SubCommand(
    name="silence",
    usage="silence IP|FINGERPRINT DURATION REASON",
    example="silence 203.0.113.7 4h vendor test",
    summary="stop alerts for a while (1m to 30d)",
    required_role="operator",
    needs_system=False,
    parse=grammar.parse_silence,
    ack=_ack,
    order=100,
)
