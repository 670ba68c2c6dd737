"""`Tracer`: the owner of an address, answered locally, from the cache, or by one bounded lookup per address.

`Tracer.trace(text)`:

1. reads the text (`normalise`) as addresses from IBM i are read (`bot.net.parse_address`): spaces, brackets and
   a `%zone` go, an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as IBM i NETSTAT may show it) becomes the
   IPv4 address. What a person types is checked before, by `bot.net.parse_typed_address`;
2. answers special-purpose addresses itself (`special_purpose`), naming the RFC;
3. answers from the cache (`storage.rdap_cache`) within the time-to-live;
4. otherwise looks the address up, at most `max_concurrent` lookups at a time, one lookup per
   address however many threads ask for it at once, and caches the owner. "No registry knows
   this address" is cached briefly (`negative_ttl`); other failures are not cached.

Every lookup blocks for seconds (ipwhois is synchronous: urllib, sockets, DNS). Call `trace`
from a worker thread (the bot's work pool, an executor), never inside Slack's 3-second ack.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from ipwhois.exceptions import IPDefinedError

from bot.net import AddressProblem, IPAddress, parse_address, parse_typed_address
from bot.trace.errors import NOT_FOUND_MESSAGE, TraceError
from bot.trace.lookup import Lookup, RdapLookup, asn_methods_checked, positive, trace_error
from bot.trace.owner import Owner, owner_from_record, owner_record
from bot.trace.rdap import owner_from_rdap
from bot.trace.special import FALLBACK_REASON, special_purpose
from storage import Storage, rdap_cache

log = logging.getLogger("bot.trace")

ACCEPTED = "one IPv4 address (203.0.113.7) or IPv6 address (2001:db8::7), optionally in [brackets] or with a %zone"


def normalise(text: str) -> IPAddress:
    """The address in `text` as read from IBM i (`bot.net.parse_address`): IPv4-mapped IPv6 unwrapped, brackets
    and any zone id dropped. TraceError("invalid") if there is none, saying why as `bot.net` does."""
    if not isinstance(text, str) or not text.strip():
        raise TraceError("invalid", f"Nothing to trace: give {ACCEPTED}.")
    address = parse_address(text)
    if address is not None:
        return address
    try:
        parse_typed_address(text, ACCEPTED)  # what the strict reader takes, the lenient one took: this raises
    except AddressProblem as problem:
        raise TraceError("invalid", problem.message()) from None
    raise TraceError("invalid", f"“{text.strip()}” is not an IP address: give {ACCEPTED}.")


class Tracer:
    """Traces addresses to their owners. Thread-safe; `trace` blocks for the lookup, so call it off the ack path.

    `ttl`: seconds an owner stays cached; `negative_ttl`: seconds "no registry knows it" stays cached.
    `timeout` and `asn_methods` configure the default lookup (`RdapLookup`); `lookup` replaces it with
    any callable taking the normalised address and returning a dict shaped like ipwhois's
    `lookup_rdap` result (it may raise TraceError, or ipwhois/urllib/socket errors, which are mapped).
    """

    def __init__(
        self,
        storage: Storage,
        *,
        ttl: float = 7 * 86400,
        timeout: float = 5.0,
        asn_methods: tuple[str, ...] = ("http",),
        max_concurrent: int = 4,
        lookup: Lookup | None = None,
        clock: Callable[[], float] = time.time,
        negative_ttl: float = 3600.0,
    ):
        if ttl < 0 or negative_ttl < 0:
            raise ValueError(f"ttl and negative_ttl must be 0 or more, not {ttl!r} and {negative_ttl!r}")
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise ValueError(f"max_concurrent must be a whole number of 1 or more, not {max_concurrent!r}")
        self.storage = storage
        self.ttl = float(ttl)
        self.negative_ttl = float(negative_ttl)
        self.timeout = positive("timeout", timeout)
        self.asn_methods = asn_methods_checked(asn_methods)
        self.max_concurrent = max_concurrent
        self._lookup: Lookup = lookup or RdapLookup(timeout=self.timeout, asn_methods=self.asn_methods)
        self._clock = clock
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._pending: dict[str, Future[Owner | TraceError]] = {}
        self._pending_lock = threading.Lock()

    def trace(self, address: str) -> Owner:
        """The owner of `address`. Raises TraceError (its `kind` says why, its message is for users)."""
        ip = normalise(address)
        key = ip.compressed
        local = self._local(ip)
        if local is not None:
            return local
        known = self._fresh(key)
        if known is not None:
            return _answer(known)
        with self._pending_lock:
            shared = self._pending.get(key)
            pending: Future[Owner | TraceError] = Future() if shared is None else shared
            if shared is None:
                self._pending[key] = pending
        if shared is not None:
            return _answer(shared.result())  # the same address is being looked up: share that lookup
        try:
            outcome = self._fresh(key) or self._look_up(key)  # the cache again: a lookup may just have ended
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        else:
            pending.set_result(outcome)
        finally:
            with self._pending_lock:
                del self._pending[key]
        return _answer(outcome)

    def cached(self, address: str) -> Owner | None:
        """The answer available without a lookup: local for special-purpose addresses, else the cached owner
        within the TTL, else None. Raises TraceError("invalid") for text that is not an address."""
        ip = normalise(address)
        local = self._local(ip)
        if local is not None:
            return local
        known = self._fresh(ip.compressed)
        return known if isinstance(known, Owner) else None

    def prune(self) -> int:
        """Delete cache entries older than any TTL; return how many went."""
        return rdap_cache.prune(self.storage, self._clock() - max(self.ttl, self.negative_ttl))

    def _local(self, ip: IPAddress) -> Owner | None:
        reason = special_purpose(ip)
        if reason is None:
            return None
        return Owner(address=ip.compressed, kind="local", local_reason=reason, looked_up_at=self._now())

    def _fresh(self, key: str) -> Owner | TraceError | None:
        entry = rdap_cache.get(self.storage, key)
        if entry is None:
            return None
        age = self._clock() - entry.looked_up_at
        record = entry.record
        if "error" in record:
            if record.get("error") == "not_found" and age < self.negative_ttl:
                return TraceError("not_found", str(record.get("message") or NOT_FOUND_MESSAGE))
            return None
        if age >= self.ttl:
            return None
        return owner_from_record(key, record, entry.looked_up_at)

    def _look_up(self, key: str) -> Owner | TraceError:
        result: Any = None
        error: TraceError | None = None
        with self._slots:
            started = time.monotonic()
            try:
                result = self._lookup(key)
            except IPDefinedError:
                # ipwhois refused an address this module's table lets through (its tables follow Python's).
                return Owner(address=key, kind="local", local_reason=FALLBACK_REASON, looked_up_at=self._now())
            except Exception as exc:
                error = trace_error(exc, timeout=self.timeout, asn_methods=self.asn_methods)
            elapsed = time.monotonic() - started
        now = self._clock()
        if error is None and not isinstance(result, Mapping):
            error = TraceError("unavailable", "The lookup gave no answer that could be read.")
        if error is not None:
            log.info("trace %s: %s (%s) after %.1f s", key, error.kind, error.message, elapsed)
            if error.kind == "not_found" and self.negative_ttl > 0:
                rdap_cache.put(self.storage, key, {"error": error.kind, "message": error.message}, now)
            return error
        owner = owner_from_rdap(key, result, datetime.fromtimestamp(now, UTC))
        log.info("trace %s: %s (%.1f s)", key, owner.summary(), elapsed)
        rdap_cache.put(self.storage, key, owner_record(owner), now)
        return owner

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _answer(outcome: Owner | TraceError) -> Owner:
    if isinstance(outcome, TraceError):
        raise TraceError(outcome.kind, outcome.message)  # a fresh exception for each waiting thread
    return outcome
