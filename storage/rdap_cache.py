"""Who owns an address, as last looked up: the RDAP cache behind `bot.trace`.

One row per address, keyed by its normalised text (IPv4 dotted, IPv6 compressed; see
`bot.trace.normalise`). `owner_json` is whatever the tracer stored: an owner's fields, or a
short-lived negative answer. `looked_up_at` is seconds since the epoch (the tracer's clock),
so freshness is a number comparison and the time-to-live stays the tracer's setting.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # storage.migrations imports this module, and storage.database imports storage.migrations
    from storage.database import Storage

log = logging.getLogger(__name__)

TABLE = "rdap_cache"

_UPSERT = f"""
INSERT INTO {TABLE} (address, owner_json, looked_up_at) VALUES (?, ?, ?)
ON CONFLICT (address) DO UPDATE SET owner_json = excluded.owner_json, looked_up_at = excluded.looked_up_at
WHERE excluded.looked_up_at >= {TABLE}.looked_up_at
"""


class CacheEntry(NamedTuple):
    record: dict[str, Any]
    looked_up_at: float  # seconds since the epoch


def get(storage: Storage, address: str) -> CacheEntry | None:
    """The stored record for `address`, however old; None when there is none or it cannot be read."""
    with storage.reading() as db:
        row = db.execute(f"SELECT owner_json, looked_up_at FROM {TABLE} WHERE address = ?", [address]).fetchone()
    if row is None:
        return None
    try:
        record = json.loads(row[0])
    except ValueError:
        log.warning("rdap_cache: the entry for %s is not JSON; ignoring it", address)
        return None
    if not isinstance(record, dict):
        log.warning("rdap_cache: the entry for %s is not a JSON object; ignoring it", address)
        return None
    return CacheEntry(record, float(row[1]))


def put(storage: Storage, address: str, record: dict[str, Any], looked_up_at: float) -> None:
    """Store `record` for `address`. An older lookup never replaces a newer one."""
    text = json.dumps(record, ensure_ascii=False, sort_keys=True)
    with storage.transaction() as db:
        db.execute(_UPSERT, [address, text, float(looked_up_at)])


def prune(storage: Storage, before: float) -> int:
    """Delete every entry looked up before `before` (seconds since the epoch); return how many went."""
    with storage.transaction() as db:
        return db.execute(f"DELETE FROM {TABLE} WHERE looked_up_at < ?", [float(before)]).rowcount
