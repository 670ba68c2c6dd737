"""The default lookup: ipwhois's `lookup_rdap` over a urllib opener that remembers how each request ended,
and the mapping of every failure (ipwhois, urllib, sockets, DNS) to a `TraceError`.

The default finds the registry with `asn_methods=("http",)`: ARIN's whois REST service over HTTPS, which works
where DNS and port 43 to Team Cymru are blocked, but gives only the registry: `Owner.asn` and
`Owner.asn_description` stay empty. Where Team Cymru is reachable, `asn_methods=("dns", "http")` (or "whois",
port 43) adds the ASN.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import (
    BaseHandler,
    HTTPDefaultErrorHandler,
    HTTPErrorProcessor,
    HTTPHandler,
    HTTPRedirectHandler,
    HTTPSHandler,
    OpenerDirector,
    ProxyHandler,
    Request,
    UnknownHandler,
)

import dns.exception
import dns.resolver
from ipwhois import IPWhois
from ipwhois.exceptions import (
    ASNRegistryError,
    BaseIpwhoisException,
    HTTPLookupError,
    HTTPRateLimitError,
    IPDefinedError,
)

from bot.trace.errors import NOT_FOUND_MESSAGE, TraceError

log = logging.getLogger("bot.trace")

ASN_METHODS = ("dns", "whois", "http")

Lookup = Callable[[str], Mapping[str, Any]]


class _Event(NamedTuple):
    url: str
    outcome: str  # "ok" | "http" | "rate_limited" | "timeout" | "unreachable"
    code: int | None = None
    reason: str = ""


class _RateLimited(Exception):
    """HTTP 429. Raised in place of HTTPError so that ipwhois gives up at once: on an HTTPError 429 it
    sleeps and retries, and in its ASN step it sleeps 120 s whatever `rate_limit_timeout` says."""


class _RecordingOpener(OpenerDirector):
    """urllib's default HTTP(S) opener that remembers how each request ended, because ipwhois turns
    timeouts, refusals and HTTP errors of its ASN step into one `ASNRegistryError`."""

    _DEFAULTS = (
        ProxyHandler,
        UnknownHandler,
        HTTPHandler,
        HTTPSHandler,
        HTTPDefaultErrorHandler,
        HTTPRedirectHandler,
        HTTPErrorProcessor,
    )

    def __init__(self, extra: Sequence[BaseHandler] = ()):
        super().__init__()
        self.events: list[_Event] = []
        for default in self._DEFAULTS:
            if not any(isinstance(handler, default) for handler in extra):
                self.add_handler(default())  # ProxyHandler() honours *_proxy, as ipwhois's own opener does
        for handler in extra:
            self.add_handler(handler)

    def open(self, fullurl: str | Request, *args: Any, **kwargs: Any) -> Any:
        url = fullurl.full_url if isinstance(fullurl, Request) else str(fullurl)
        try:
            response = super().open(fullurl, *args, **kwargs)
        except HTTPError as exc:
            if exc.code == 429:
                self.events.append(_Event(url, "rate_limited", 429))
                exc.close()
                raise _RateLimited(url) from exc
            self.events.append(_Event(url, "http", exc.code, str(exc.reason)))
            raise
        except Exception as exc:
            self.events.append(_Event(url, "timeout" if _timed_out(exc) else "unreachable", None, _reason(exc)))
            raise
        self.events.append(_Event(url, "ok", getattr(response, "status", None)))
        return response

    def last_failure(self) -> _Event | None:
        """The last request's ending, if it failed: the one behind the exception ipwhois raised."""
        return self.events[-1] if self.events and self.events[-1].outcome != "ok" else None


class RdapLookup:
    """The default lookup: a fresh `IPWhois(address).lookup_rdap(...)` per call, so calls may run in parallel.

    `asn_methods` picks how ipwhois finds the registry before the RDAP query: "http" (ARIN's whois
    REST service; registry only, no ASN number), "dns" (Team Cymru over DNS) or "whois" (Team Cymru,
    TCP port 43), tried in order. `handlers` makes extra urllib handlers for each call's opener
    (a ProxyHandler of your own replaces the default, which reads the *_proxy variables; tests serve
    recorded responses through a handler).
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        asn_methods: Sequence[str] = ("http",),
        handlers: Callable[[], Sequence[BaseHandler]] | None = None,
    ):
        self.timeout = positive("timeout", timeout)
        self.asn_methods = asn_methods_checked(asn_methods)
        self.handlers = handlers

    def __call__(self, address: str) -> Mapping[str, Any]:
        opener = _RecordingOpener(self.handlers() if self.handlers else ())
        try:
            whois = IPWhois(address, timeout=self.timeout, proxy_opener=opener)
            return whois.lookup_rdap(
                asn_methods=list(self.asn_methods),
                inc_nir=False,
                retry_count=1,
                rate_limit_timeout=1,
                root_ent_check=True,
                depth=0,
            )
        except (TraceError, IPDefinedError):
            raise
        except Exception as exc:
            raise trace_error(
                exc, timeout=self.timeout, asn_methods=self.asn_methods, last_failure=opener.last_failure()
            ) from exc


def trace_error(
    exc: BaseException,
    *,
    timeout: float,
    asn_methods: Sequence[str],
    last_failure: _Event | None = None,
) -> TraceError:
    """The TraceError for an exception raised by a lookup (ipwhois, urllib, sockets, DNS)."""
    if isinstance(exc, TraceError):
        return exc
    if isinstance(exc, dns.resolver.NoResolverConfiguration):
        return TraceError(
            "unavailable",
            "This machine has no DNS resolver configured (no nameserver in /etc/resolv.conf); "
            "ipwhois needs one even for lookups over HTTP.",
        )
    failure = last_failure
    if isinstance(exc, HTTPRateLimitError) or (failure and failure.outcome == "rate_limited"):
        where = f" ({_host(failure.url)})" if failure else ""
        return TraceError("rate_limited", f"The registry{where} is limiting lookups from this bot; try again later.")
    if _timed_out(exc) or (failure and failure.outcome == "timeout"):
        where = _host(failure.url) if failure else "The registry"
        return TraceError("timeout", f"{where} did not answer within {timeout:g} s; try again later.")
    code = failure.code if failure and failure.outcome == "http" else _http_code(exc)
    if isinstance(exc, HTTPLookupError) and code == 404:
        return TraceError("not_found", NOT_FOUND_MESSAGE)
    if isinstance(exc, ASNRegistryError) and failure is None:
        methods = ", ".join(f'"{m}"' for m in asn_methods)
        advice = '["dns", "http"]' if "dns" not in asn_methods else '["http"]'
        return TraceError(
            "unavailable",
            f"ASN lookup failed (asn_methods = [{methods}]: no registry found for the address); "
            f"try asn_methods = {advice}.",
        )
    if failure is not None:
        if failure.outcome == "http":
            what = f"answered HTTP {failure.code}"
        else:
            what = f"could not be reached ({failure.reason})"
        return TraceError("unavailable", f"{_host(failure.url)} {what}; try again later.")
    if isinstance(exc, HTTPLookupError):
        what = f"answered HTTP {code}" if code else "could not be reached"
        return TraceError("unavailable", f"The registry {what}; try again later.")
    if isinstance(exc, (URLError, OSError, dns.exception.DNSException)):
        return TraceError("unavailable", f"The registry could not be reached ({_reason(exc)}); try again later.")
    if isinstance(exc, BaseIpwhoisException):
        return TraceError("unavailable", f"The registry's answer could not be read ({type(exc).__name__}).")
    log.error("trace: unexpected error from the lookup", exc_info=exc)
    return TraceError("unavailable", f"The lookup failed ({type(exc).__name__}).")


def _timed_out(exc: BaseException | None) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (TimeoutError, dns.exception.Timeout)):  # socket.timeout is TimeoutError
            return True
        if isinstance(exc, URLError) and isinstance(exc.reason, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _reason(exc: BaseException) -> str:
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _http_code(exc: BaseException) -> int | None:
    match = re.search(r"error code (\d{3})", str(exc))
    return int(match.group(1)) if match else None


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def positive(name: str, value: float) -> float:
    if not value > 0:
        raise ValueError(f"{name} must be more than 0, not {value!r}")
    return float(value)


def asn_methods_checked(methods: Sequence[str]) -> tuple[str, ...]:
    methods = tuple(methods) if not isinstance(methods, str) else (methods,)
    unknown = [m for m in methods if m not in ASN_METHODS]
    if not methods or unknown:
        raise ValueError(f"asn_methods must be one or more of {', '.join(ASN_METHODS)}, not {list(methods)!r}")
    return methods
