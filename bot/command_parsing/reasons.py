"""Free text and durations in a command: the reason of a change request or silence (also checked for the
reason typed into a form), and a silence's duration."""

from __future__ import annotations

import re

from bot.command_parsing.usage import UsageError, _shorten
from bot.config import DURATION_FORM, parse_duration

MAX_REASON = 500
MIN_SILENCE = 60.0
MAX_SILENCE = 30 * 86400.0

_DURATION_WORD = re.compile(r"[0-9.dhms]{1,32}")
_REASON_ALLOWED = "give it as one line of plain text"


def _reason(words: list[str], usage: str) -> str:
    reason = " ".join(part for part in " ".join(words).split(" ") if part)
    problem = _reason_problem(reason)
    if problem is not None:
        raise UsageError(problem, usage)
    return reason


def reason_problem(reason: object) -> str | None:
    """What is wrong with a reason (from a command or a form), or None when it is acceptable."""
    return _reason_problem(reason)


def _reason_problem(reason: object) -> str | None:
    if not isinstance(reason, str):
        return "The reason is not text."
    for character in reason:
        if not character.isprintable():
            return (
                f"The reason contains a character that is not printable text (U+{ord(character):04X}); "
                f"{_REASON_ALLOWED}."
            )
    if "`" in reason:
        return "The reason may not contain backticks: they would break the code formatting of Slack messages."
    if len(reason) > MAX_REASON:
        return f"The reason is {len(reason)} characters long; the limit is {MAX_REASON}."
    if reason != reason.strip(" ") or "  " in reason:
        return "The reason has extra spaces."
    return None


def _check_reason(reason: object) -> None:
    problem = _reason_problem(reason)
    if problem is not None:
        raise ValueError(problem)


def _duration(word: str, usage: str) -> float:
    text = word.lower()
    seconds = None
    if text.isascii() and _DURATION_WORD.fullmatch(text):
        try:
            seconds = parse_duration(text)
        except ValueError:
            pass
    if seconds is None:
        raise UsageError(f"`{_shorten(word)}` is not a duration; expected {DURATION_FORM}.", usage)
    if seconds < MIN_SILENCE:
        raise UsageError(f"`{_shorten(word)}` is too short; a silence lasts at least 1m.", usage)
    if seconds > MAX_SILENCE:
        raise UsageError(f"`{_shorten(word)}` is too long; a silence lasts at most 30d.", usage)
    return float(seconds)
