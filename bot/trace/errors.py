"""How a trace fails: `TraceError`, whose `kind` says why and whose message may be shown to users."""

from __future__ import annotations

ERROR_KINDS = ("timeout", "rate_limited", "not_found", "unavailable", "invalid")
NOT_FOUND_MESSAGE = "No registry has a record of this address."


class TraceError(Exception):
    """A trace that gave no owner. `kind` is one of ERROR_KINDS; the message may be shown to users."""

    def __init__(self, kind: str, message: str):
        if kind not in ERROR_KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(ERROR_KINDS)}")
        super().__init__(message)
        self.kind = kind
        self.message = message
