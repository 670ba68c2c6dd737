"""What a wrong command is answered with: `UsageError` (the problem and the right form), and `_shorten`, which
makes the user's own text safe to echo inside backticks."""

from __future__ import annotations


class UsageError(ValueError):
    """What was wrong with the command, and the right form."""

    def __init__(self, problem: str, usage: str | None = None):
        self.problem = problem
        self.usage = usage
        super().__init__(problem)


# The command's text arrives as the user typed it (the slash-command handler undoes Slack's escaping), so the
# three characters Slack reads as markup are escaped here: a typed <!channel> is shown, never acted on.
_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _shorten(text: str, limit: int = 40) -> str:
    """The user's text made safe to echo inside backticks: one line, no backticks or Slack markup, at most
    `limit` characters as sent (so at most that many shown).
    """
    if not text:
        return "(nothing)"
    pieces = [_SLACK_ESCAPES.get(c, c if c.isprintable() and c != "`" else "?") for c in text]
    if sum(len(piece) for piece in pieces) <= limit:
        return "".join(pieces)
    kept, size = [], 0
    for piece in pieces:
        if size + len(piece) > limit - 1:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + "…"
