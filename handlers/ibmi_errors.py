"""What a person is told when the IBM i their command, button or form needed failed it: the system, what
failed and the fix when it is known (unreachable, hung, not authorised, an error). Said to the person in full
and logged as one line: an IBM i that cannot be reached is a state of the world, not a bug of the bot."""

from __future__ import annotations

import logging

from bot.health import HUNG, NOT_AUTHORISED, UNREACHABLE, sickness_of
from bot.ibmi.errors import IbmiError
from bot.slack.blocks import escape_mrkdwn

log = logging.getLogger(__name__)


def ibmi_failure_text(error: IbmiError, system: str, what: str) -> str:
    """The answer to `what` (e.g. "/ibmi smtp") when `system` failed it; logged too, without a traceback."""
    log.warning("%s on %s failed: %s", what, system, error)
    sickness = sickness_of(system, error)
    if sickness.kind == UNREACHABLE:
        said = f"{system} cannot be reached"
    elif sickness.kind == HUNG:
        said = f"{system} did not answer (the call was abandoned at the {sickness.deadline or 0:g} s deadline)"
    elif sickness.kind == NOT_AUTHORISED:
        said = f"{system} refused the bot's profile"
    else:
        said = f"{system} answered with an error"
    text = f":x: `{what}` could not be done: {said}: {escape_mrkdwn(sickness.error)}."
    return f"{text} To fix: {sickness.fix}." if sickness.fix else text
