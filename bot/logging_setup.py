"""Logging that never shows a token or password: known secret values and token shapes are masked."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TextIO

REDACTED = "[redacted]"
# Slack tokens: xoxb- (bot), xoxp- (user), xoxe- (refresh), xoxe.xoxp- (configuration), xapp- (app-level), …
_TOKEN_SHAPES = re.compile(r"(?<![A-Za-z0-9])(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+")
# ODBC connection-string passwords: PWD=value; or PWD={value}, where "}}" inside braces is an escaped "}".
# An unbraced value runs to the next ";" or the end of the line.
_ODBC_PASSWORD = re.compile(r"(?i)(?<![A-Za-z0-9])(PWD|PASSWORD)(\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;\r\n]*)")


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _TOKEN_SHAPES.sub(REDACTED, text)
        return _ODBC_PASSWORD.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: show what there is, redacted, rather than fail the caller
            message = f"{record.msg} (unformattable arguments: {record.args!r})"
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str | int, secrets: Iterable[str] = (), stream: TextIO | None = None) -> RedactingFilter:
    """Log to stderr (or `stream`) through a redacting filter on the handler, so records from every library
    pass it."""
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))  # a line per job run is noise
    return redactor
