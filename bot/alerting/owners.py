"""Adds the owner of an untrusted address to its alert after the alert is posted, never before.

The alert goes out at once; an RDAP lookup can take seconds, so it runs here, on a small pool,
and the alert's message is edited when the owner is known. Owners found close together share one
edit: each found owner marks its alert for a refresh, and one refresh task (queued behind the lookups
already waiting) re-renders every marked message once. The outbox keeps at most one queued edit per
message, so 2,000 owners cost one edit per message, not one per owner.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from bot.alerting.lifecycle import AlertManager
from bot.checks import registry
from bot.trace import TraceError, Tracer
from storage.alerts import alert as stored_alert
from storage.alerts import save_alert
from storage.database import Storage

log = logging.getLogger(__name__)


class OwnerEnricher:
    def __init__(self, storage: Storage, tracer: Tracer, alerts: AlertManager, workers: int = 2):
        self.storage = storage
        self.tracer = tracer
        self.alerts = alerts
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="warden-owner")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._to_refresh: set[str] = set()  # alerts whose owner was saved but whose messages are not re-rendered
        self._refresh_queued = False

    def enrich(self, fingerprints: Iterable[str]) -> list[Future[None]]:
        futures = [self._pool.submit(self._enrich_one, fingerprint) for fingerprint in fingerprints]
        self._track(futures)
        return futures

    def _track(self, futures: list[Future[None]]) -> None:
        with self._lock:
            self._pending.update(futures)
        for future in futures:
            future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until every lookup submitted so far has finished (for tests and orderly shutdown)."""
        with self._lock:
            pending = list(self._pending)
        wait(pending, timeout=timeout)

    def _enrich_one(self, fingerprint: str) -> None:
        record = stored_alert(self.storage, fingerprint)
        if record is None or not registry.about_address(record.check):
            return
        address = record.finding.get("facts", {}).get("remote_address") or record.subject
        try:
            owner = self.tracer.trace(address)
        except TraceError as error:
            log.info("owner of %s not found: %s", address, error)
            return
        with self.storage.transaction():
            current = stored_alert(self.storage, fingerprint)
            if current is None:
                return
            facts = {**current.finding.get("facts", {}), "owner": owner.summary()}
            save_alert(self.storage, current.with_changes(finding={**current.finding, "facts": facts}))
        self._refresh_later(fingerprint)

    def _refresh_later(self, fingerprint: str) -> None:
        with self._lock:
            self._to_refresh.add(fingerprint)
            if self._refresh_queued:
                return
            self._refresh_queued = True
        self._track([self._pool.submit(self._refresh)])

    def _refresh(self) -> None:
        with self._lock:
            fingerprints, self._to_refresh = self._to_refresh, set()
            self._refresh_queued = False
        self.alerts.refresh(fingerprints)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
