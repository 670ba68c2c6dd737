"""What a Slack reader sees of the bot's mrkdwn: every mrkdwn text object in a payload, the live mentions in
it (those that notify), the text as shown (escapes resolved), and any `*` that does not delimit bold."""

from __future__ import annotations

import json
import re
from typing import Any

CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
LIVE_MENTION = re.compile(r"<(?:!(?:channel|here|everyone|subteam\^)[^>]*|@[UW][A-Z0-9]+[^>]*|#C[A-Z0-9]+[^>]*)>")
# Bold as Slack reads it: `*` at the start of a word, text with no `*` and no space at its ends, `*` at the end.
BOLD = re.compile(r"(?<![^\s(\[{\"'_~:>|])\*[^*\s](?:[^*\n]*[^*\s])?\*(?![^\s.,:;!?)\]}\"'_~—–-])")


def mrkdwn_texts(payload: Any) -> list[str]:
    """Every `{"type": "mrkdwn", "text": …}` in blocks, a view or a whole message, in order."""
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("type") == "mrkdwn" and isinstance(payload.get("text"), str):
            found.append(payload["text"])
        for value in payload.values():
            found += mrkdwn_texts(value)
    elif isinstance(payload, list):
        for item in payload:
            found += mrkdwn_texts(item)
    elif isinstance(payload, str) and payload[:1] in ("{", "["):  # blocks or a view sent as a JSON string
        try:
            found += mrkdwn_texts(json.loads(payload))
        except ValueError:
            pass
    return found


def live_mentions(text: str) -> list[str]:
    return LIVE_MENTION.findall(text)


def shown(text: str) -> str:
    """The characters a reader sees (Slack's three escapes resolved; formatting marks left in)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def stray_stars(text: str) -> list[str]:
    """The lines holding a `*` outside code spans that is not one end of a bold span: such a star either shows
    as a literal next to misplaced bold or swallows the bold around it."""
    lines = []
    for line in CODE.sub("", text).split("\n"):
        if "*" in BOLD.sub("", line):
            lines.append(line)
    return lines
