"""Keyed audit hashes: HMAC-SHA256 with a key that lives outside the database.

With a key, a row's ``hash`` is the HMAC-SHA256 (lower-case hex) of the same canonical form that
an unkeyed row hashes with plain SHA-256 (see `storage.audit`), so nobody without the key can
write a row that verifies. The head records, once the log is keyed:

- ``keyed_from``: the first row written with the key (rows before it stay plain SHA-256, and are
  protected by the keyed rows that link to them);
- ``key_check``: the HMAC of a fixed text, so a wrong or missing key is named before anything is
  written or walked;
- ``mac``: the HMAC of ``[rows, hash, keyed_from]``, so the head itself cannot be moved (the last
  rows deleted and the head set back) without the key.

A log once keyed stays keyed: the bot refuses to start without its key, and `verify` without it
cannot vouch for the keyed rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from storage.database import StorageError

MODE_KEYED = "HMAC-SHA256"
MODE_PLAIN = "SHA-256"
_CHECK_TEXT = b"ibmi-warden audit key check v1"


class AuditKeyError(StorageError):
    """The audit log is keyed and the key is missing, or the key is not the one it was keyed with."""


def digest(canonical: str, key: bytes | None) -> str:
    """SHA-256 of the canonical form, or its HMAC-SHA256 with `key`."""
    data = canonical.encode("utf-8")
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def key_check(key: bytes) -> str:
    """A value that names the key without revealing it: HMAC-SHA256 of a fixed text."""
    return hmac.new(key, _CHECK_TEXT, hashlib.sha256).hexdigest()


def head_mac(key: bytes, rows: int, head_hash: str, keyed_from: int) -> str:
    """The MAC of a keyed head."""
    text = json.dumps([rows, head_hash, keyed_from], separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two hex values (None matches nothing)."""
    return a is not None and b is not None and hmac.compare_digest(a, b)


def require_key_for(stored_check: str | None, key: bytes | None) -> None:
    """Raise AuditKeyError unless `key` may write to a log whose head holds `stored_check`."""
    if stored_check is None:
        return
    if key is None:
        raise AuditKeyError(
            "the audit log is keyed (HMAC-SHA256 with WARDEN_AUDIT_KEY); set WARDEN_AUDIT_KEY in the "
            "environment to the key it was written with"
        )
    if not same(stored_check, key_check(key)):
        raise AuditKeyError(
            "WARDEN_AUDIT_KEY is not the key this audit log was keyed with (or the audit head was "
            "rewritten); set the original key"
        )
