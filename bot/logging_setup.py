"""Logging that never shows a token or password (known secret values and token shapes are masked), with one
line per record (control characters escaped, so a request cannot forge a line) of bounded length, and never a
request body from Bolt below WARNING."""

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

# C0 controls and DEL, C1 controls, and the Unicode line and paragraph separators: anything a terminal, a log
# viewer or journald may take for the end of a line.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_CONTROLS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
MAX_MESSAGE_CHARS = 2000  # a message beyond this is cut, saying how much was left out
MAX_TRACEBACK_CHARS = 20000
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers kept at WARNING unless the level is DEBUG: Bolt logs a whole request body at INFO when its
# signature is wrong; apscheduler logs a line per job run.
_QUIET_BELOW_DEBUG = ("slack_bolt", "apscheduler")


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


def escape_controls(text: str) -> str:
    """Every control character as a visible escape (\\n, \\r, \\t, \\xNN, \\uNNNN): the text stays on one line."""
    return _CONTROLS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match[0]
    named = _NAMED_CONTROLS.get(char)
    if named is not None:
        return named
    return f"\\x{ord(char):02x}" if ord(char) <= 0xFF else f"\\u{ord(char):04x}"


def one_line(text: str, limit: int) -> str:
    """`text` escaped onto one line and cut to `limit` characters, saying how long it was."""
    escaped = escape_controls(text[:limit])
    if len(text) <= limit and len(escaped) <= limit:
        return escaped
    return f"{escaped[:limit]}… [cut: {len(text)} characters in all]"


class OneLineFormatter(logging.Formatter):
    """Formats a record as one line: the message escaped and cut to MAX_MESSAGE_CHARS, then a traceback or stack
    (escaped the same way, cut to MAX_TRACEBACK_CHARS) after " | "."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.getMessage(), MAX_MESSAGE_CHARS)
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = escape_controls(self.formatMessage(record))  # the logger's name and the rest of the format too
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        details = [
            text for text in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)) if text
        ]
        if details:
            line += " | " + one_line("\n".join(details), MAX_TRACEBACK_CHARS)
        return line


class QuietLibraries(logging.Filter):
    """Drops records below WARNING from the named loggers and their children, whatever level a library gave its
    own loggers (Bolt copies a level onto each logger it creates)."""

    def __init__(self, names: Iterable[str]):
        super().__init__()
        self.names = tuple(names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not any(record.name == name or record.name.startswith(f"{name}.") for name in self.names)


def configure_logging(level: str | int, secrets: Iterable[str] = (), stream: TextIO | None = None) -> RedactingFilter:
    """Log to stderr (or `stream`) through a redacting filter on the handler, so records from every library
    pass it, one line a record."""
    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    debugging = root.level <= logging.DEBUG
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter(LOG_FORMAT))
    if not debugging:  # before the redactor, which formats every message it is given
        handler.addFilter(QuietLibraries(_QUIET_BELOW_DEBUG))
    handler.addFilter(redactor)
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    for name in _QUIET_BELOW_DEBUG:
        logging.getLogger(name).setLevel(root.level if debugging else max(logging.WARNING, root.level))
    return redactor
