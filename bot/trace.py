"""Who owns an address: RDAP through ipwhois, with a cache, and local answers for special-purpose ranges.

`Tracer.trace(text)`:

1. normalises the text (`normalise`): spaces, brackets and a `%zone` go, an IPv4-mapped IPv6
   address (`::ffff:a.b.c.d`, as IBM i NETSTAT may show it) becomes the IPv4 address;
2. answers special-purpose addresses itself (`special_purpose`: private, loopback, link-local,
   shared, documentation, benchmarking, multicast, reserved …), naming the RFC. The table is
   this module's own: ipwhois's is incomplete (100.64.0.0/10 is sent to the registries) and its
   labels follow the Python version's `ipaddress` tables (240.0.0.1 comes out as "RFC 1918");
3. answers from the cache (`storage.rdap_cache`) within the time-to-live;
4. otherwise looks the address up, at most `max_concurrent` lookups at a time, one lookup per
   address however many threads ask for it at once, and caches the owner. "No registry knows
   this address" is cached briefly (`negative_ttl`); other failures are not cached.

Every lookup blocks for seconds (ipwhois is synchronous: urllib, sockets, DNS). Call `trace`
from a worker thread (the bot's work pool, an executor), never inside Slack's 3-second ack.

The default lookup (`RdapLookup`) finds the registry with `asn_methods=("http",)`: ARIN's whois
REST service over HTTPS, which works where DNS and port 43 to Team Cymru are blocked, but gives
only the registry: `Owner.asn` and `Owner.asn_description` stay empty. Where Team Cymru is
reachable, `asn_methods=("dns", "http")` (or "whois", port 43) adds the ASN.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
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

from bot.ibmi.rows import IPAddress, parse_address
from storage import Storage, rdap_cache

log = logging.getLogger(__name__)

ERROR_KINDS = ("timeout", "rate_limited", "not_found", "unavailable", "invalid")
ASN_METHODS = ("dns", "whois", "http")
REGISTRY_NAMES = {"arin": "ARIN", "ripencc": "RIPE NCC", "apnic": "APNIC", "lacnic": "LACNIC", "afrinic": "AFRINIC"}
ACCEPTED = "one IPv4 address (203.0.113.7) or IPv6 address (2001:db8::7), optionally in [brackets] or with a %zone"

NOT_FOUND_MESSAGE = "No registry has a record of this address."

Lookup = Callable[[str], Mapping[str, Any]]


class TraceError(Exception):
    """A trace that gave no owner. `kind` is one of ERROR_KINDS; the message may be shown to users."""

    def __init__(self, kind: str, message: str):
        if kind not in ERROR_KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(ERROR_KINDS)}")
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, kw_only=True)
class Owner:
    """Who owns an address: from RDAP (`kind="rdap"`), or answered locally (`kind="local"`)."""

    address: str  # normalised: IPv4-mapped unwrapped, zone id dropped; compressed form
    kind: str  # "rdap" | "local"
    organisation: str | None = None  # the registrant's name, else the network's name
    network_name: str | None = None  # e.g. GOOGLE, BT-CORPORATE
    cidr: str | None = None  # as the registry gives it: comma-joined when the range is not one prefix
    country: str | None = None  # ISO 3166 code, or None when the registry gives none we can read
    asn: str | None = None  # "15169"; only with the "dns" or "whois" ASN methods
    asn_description: str | None = None
    abuse_email: str | None = None
    registry: str | None = None  # arin | ripencc | apnic | lacnic | afrinic
    local_reason: str | None = None  # kind "local": e.g. "Private-Use (RFC 1918)"
    looked_up_at: datetime  # UTC

    def summary(self) -> str:
        """One line, e.g. "GOOGLE (Google Inc.), US, AS15169, 74.125.0.0/16" (the registry, "ARIN", in place
        of the ASN when there is none) or "Private-Use network (RFC 1918): not looked up"."""
        if self.kind == "local":
            return _local_summary(self)
        name, organisation = self.network_name, self.organisation
        if name and organisation and name.casefold() != organisation.casefold():
            head = f"{name} ({organisation})"
        else:
            head = name or organisation or "owner not named"
        parts = [head]
        if self.country:
            parts.append(self.country)
        if self.asn:
            parts.append(" ".join(f"AS{number}" for number in self.asn.split()))
        elif self.registry:  # the "http" ASN method gives the registry only
            parts.append(REGISTRY_NAMES.get(self.registry, self.registry.upper()))
        if self.cidr:
            parts.append(_cidr_text(self.cidr, self.address))
        return ", ".join(parts)


# --- normalising and special-purpose addresses ------------------------------------------------------


def normalise(text: str) -> IPAddress:
    """The address in `text`, IPv4-mapped IPv6 unwrapped and any zone id dropped; TraceError("invalid") if none."""
    if not isinstance(text, str) or not text.strip():
        raise TraceError("invalid", f"Nothing to trace: give {ACCEPTED}.")
    address = parse_address(text)
    if address is not None:
        return address
    shown = text.strip()
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    if "/" in shown:
        why = "is a network, not an address"
    elif re.fullmatch(r"[0-9.]+", shown) and re.search(r"(^|\.)0[0-9]", shown):
        why = "has leading zeros, which are ambiguous (octal or decimal)"
    else:
        why = "is not an IP address"
    raise TraceError("invalid", f"“{shown}” {why}: give {ACCEPTED}.")


class _Special(NamedTuple):
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    label: str
    rfc: str
    noun: str  # "network", or "address" for a single address

    @property
    def reason(self) -> str:
        return f"{self.label} ({self.rfc})"


def _special(cidr: str, label: str, rfc: str, noun: str = "network") -> _Special:
    return _Special(ipaddress.ip_network(cidr), label, rfc, noun)


# First match wins: more specific entries come first. IANA's special-purpose registries (RFC 6890).
_SPECIAL_V4 = (
    _special("0.0.0.0/32", "Unspecified", "RFC 1122", "address"),
    _special("0.0.0.0/8", "This Network", "RFC 1122"),
    _special("10.0.0.0/8", "Private-Use", "RFC 1918"),
    _special("100.64.0.0/10", "Shared Address Space", "RFC 6598"),
    _special("127.0.0.0/8", "Loopback", "RFC 1122"),
    _special("169.254.0.0/16", "Link-Local", "RFC 3927"),
    _special("172.16.0.0/12", "Private-Use", "RFC 1918"),
    _special("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890"),
    _special("192.0.2.0/24", "Documentation", "RFC 5737"),
    _special("192.88.99.0/24", "Deprecated 6to4 Relay Anycast", "RFC 7526"),
    _special("192.168.0.0/16", "Private-Use", "RFC 1918"),
    _special("198.18.0.0/15", "Benchmarking", "RFC 2544"),
    _special("198.51.100.0/24", "Documentation", "RFC 5737"),
    _special("203.0.113.0/24", "Documentation", "RFC 5737"),
    _special("224.0.0.0/4", "Multicast", "RFC 5771"),
    _special("255.255.255.255/32", "Limited Broadcast", "RFC 919", "address"),
    _special("240.0.0.0/4", "Reserved", "RFC 1112"),
)
_SPECIAL_V6 = (
    _special("::/128", "Unspecified", "RFC 4291", "address"),
    _special("::1/128", "Loopback", "RFC 4291", "address"),
    _special("64:ff9b::/96", "IPv4/IPv6 Translation", "RFC 6052"),
    _special("64:ff9b:1::/48", "Local-Use IPv4/IPv6 Translation", "RFC 8215"),
    _special("100::/64", "Discard-Only", "RFC 6666"),
    _special("2001::/32", "Teredo", "RFC 4380"),
    _special("2001:2::/48", "Benchmarking", "RFC 5180"),
    _special("2001:db8::/32", "Documentation", "RFC 3849"),
    _special("2001::/23", "IETF Protocol Assignments", "RFC 2928"),
    _special("2002::/16", "6to4", "RFC 3056"),
    _special("3fff::/20", "Documentation", "RFC 9637"),
    _special("fc00::/7", "Unique-Local", "RFC 4193"),
    _special("fe80::/10", "Link-Local", "RFC 4291"),
    _special("fec0::/10", "Deprecated Site-Local", "RFC 3879"),
    _special("ff00::/8", "Multicast", "RFC 4291"),
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_RESERVED_V6 = _special("::/0", "Reserved by the IETF", "RFC 4291")  # anything outside 2000::/3 not listed above
_NAT64 = _SPECIAL_V6[2].network
_FALLBACK_REASON = "Special-Purpose (RFC 6890)"  # what ipwhois refused but the table above does not list


def _special_for(address: IPAddress) -> _Special | None:
    for entry in _SPECIAL_V4 if address.version == 4 else _SPECIAL_V6:
        if address in entry.network:
            return entry
    if address.version == 6 and address not in _GLOBAL_UNICAST_V6:
        return _RESERVED_V6
    return None


def special_purpose(address: IPAddress) -> str | None:
    """Why `address` (already normalised) needs no lookup, e.g. "Private-Use (RFC 1918)"; None for a public address."""
    entry = _special_for(address)
    return entry.reason if entry else None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4, Teredo or NAT64 address carries, which is worth tracing instead."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _local_summary(owner: Owner) -> str:
    address = ipaddress.ip_address(owner.address)
    entry = _special_for(address)
    if entry is None or entry.reason != owner.local_reason:
        return f"{owner.local_reason or 'Special-purpose address'}: not looked up"
    text = f"{entry.label} {entry.noun} ({entry.rfc}): not looked up"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        text += f"; it carries the IPv4 address {embedded}, which can be traced"
    return text


def _cidr_text(cidr: str, address: str) -> str:
    """One prefix as is; of several, the one holding the address and how many more there are."""
    prefixes = [part.strip() for part in cidr.split(",") if part.strip()]
    if len(prefixes) <= 1:
        return cidr.strip()
    shown = prefixes[0]
    try:
        ip = ipaddress.ip_address(address)
        shown = next((p for p in prefixes if ip in ipaddress.ip_network(p, strict=False)), shown)
    except ValueError:
        pass
    return f"{shown} (+{len(prefixes) - 1} more)"


# --- reading ipwhois's answer ------------------------------------------------------------------------

# ARIN networks carry no country, and ARIN's vCards give it as a name on the last line of the
# address label ("…\nCA\n94043\nUNITED STATES"). These are the names of the countries ARIN serves;
# any other name is not guessed at.
_COUNTRY_NAMES = {
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "canada": "CA",
    "anguilla": "AI",
    "antarctica": "AQ",
    "antigua and barbuda": "AG",
    "bahamas": "BS",
    "the bahamas": "BS",
    "barbados": "BB",
    "bermuda": "BM",
    "bouvet island": "BV",
    "cayman islands": "KY",
    "dominica": "DM",
    "grenada": "GD",
    "heard island and mcdonald islands": "HM",
    "jamaica": "JM",
    "montserrat": "MS",
    "puerto rico": "PR",
    "saint kitts and nevis": "KN",
    "saint lucia": "LC",
    "saint pierre and miquelon": "PM",
    "saint vincent and the grenadines": "VC",
    "turks and caicos islands": "TC",
    "united states minor outlying islands": "UM",
    "virgin islands, british": "VG",
    "british virgin islands": "VG",
    "virgin islands, u.s.": "VI",
    "u.s. virgin islands": "VI",
    "united states virgin islands": "VI",
}


def owner_from_rdap(address: str, result: Mapping[str, Any], looked_up_at: datetime) -> Owner:
    """The owner in an ipwhois `lookup_rdap` result (missing parts are None, never an error)."""
    network = _mapping(result.get("network"))
    objects = _mapping(result.get("objects"))
    entities = [_mapping(entity) for entity in objects.values()]
    registrant = next((e for e in entities if "registrant" in _roles(e)), None)
    contact = _mapping(registrant.get("contact")) if registrant else {}
    network_name = _text(network.get("name"))
    country = (
        _country_code(network.get("country"))
        or _country_from_addresses(contact.get("address"))
        or _country_code(result.get("asn_country_code"))
    )
    asn = " ".join(part for part in str(result.get("asn") or "").split() if part.isdigit()) or None
    return Owner(
        address=address,
        kind="rdap",
        organisation=_text(contact.get("name")) or network_name,
        network_name=network_name,
        cidr=_text(network.get("cidr")),
        country=country,
        asn=asn,
        asn_description=_text(result.get("asn_description")),
        abuse_email=_abuse_email(entities),
        registry=_text(result.get("asn_registry")),
        looked_up_at=looked_up_at,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _roles(entity: Mapping[str, Any]) -> list[str]:
    roles = entity.get("roles")
    return [role for role in roles if isinstance(role, str)] if isinstance(roles, list) else []


def _abuse_email(entities: Iterable[Mapping[str, Any]]) -> str | None:
    for entity in entities:
        if "abuse" not in _roles(entity):
            continue
        emails = _mapping(entity.get("contact")).get("email")
        for email in emails if isinstance(emails, list) else []:
            value = _text(_mapping(email).get("value"))
            if value:
                return value
    return None


def _country_code(value: Any) -> str | None:
    text = _text(value)
    return text.upper() if text and len(text) == 2 and text.isalpha() else None


def _country_from_addresses(addresses: Any) -> str | None:
    for address in addresses if isinstance(addresses, list) else []:
        label = (_text(_mapping(address).get("value")) or "").replace("\\n", "\n")  # some answers escape it
        lines = [line.strip() for line in label.splitlines() if line.strip()]
        if lines and lines[-1].casefold() in _COUNTRY_NAMES:
            return _COUNTRY_NAMES[lines[-1].casefold()]
    return None


def _owner_record(owner: Owner) -> dict[str, Any]:
    record = asdict(owner)
    del record["address"], record["looked_up_at"]
    return record


_OWNER_FIELDS = {f.name for f in fields(Owner)} - {"address", "looked_up_at"}


def _owner_from_record(address: str, record: Mapping[str, Any], looked_up_at: float) -> Owner | None:
    values = {key: value for key, value in record.items() if key in _OWNER_FIELDS}
    if values.get("kind") != "rdap" or any(v is not None and not isinstance(v, str) for v in values.values()):
        return None
    return Owner(address=address, looked_up_at=datetime.fromtimestamp(looked_up_at, UTC), **values)


# --- the default lookup --------------------------------------------------------------------------------


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
        self.timeout = _positive("timeout", timeout)
        self.asn_methods = _asn_methods(asn_methods)
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
            raise _trace_error(
                exc, timeout=self.timeout, asn_methods=self.asn_methods, last_failure=opener.last_failure()
            ) from exc


def _trace_error(
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


def _positive(name: str, value: float) -> float:
    if not value > 0:
        raise ValueError(f"{name} must be more than 0, not {value!r}")
    return float(value)


def _asn_methods(methods: Sequence[str]) -> tuple[str, ...]:
    methods = tuple(methods) if not isinstance(methods, str) else (methods,)
    unknown = [m for m in methods if m not in ASN_METHODS]
    if not methods or unknown:
        raise ValueError(f"asn_methods must be one or more of {', '.join(ASN_METHODS)}, not {list(methods)!r}")
    return methods


# --- the tracer --------------------------------------------------------------------------------------


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
        self.timeout = _positive("timeout", timeout)
        self.asn_methods = _asn_methods(asn_methods)
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
            pending = self._pending.get(key)
            leading = pending is None
            if leading:
                pending = self._pending[key] = Future()
        if not leading:
            return _answer(pending.result())  # the same address is being looked up: share that lookup
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
        return _owner_from_record(key, record, entry.looked_up_at)

    def _look_up(self, key: str) -> Owner | TraceError:
        result: Any = None
        error: TraceError | None = None
        with self._slots:
            started = time.monotonic()
            try:
                result = self._lookup(key)
            except IPDefinedError:
                # ipwhois refused an address this module's table lets through (its tables follow Python's).
                return Owner(address=key, kind="local", local_reason=_FALLBACK_REASON, looked_up_at=self._now())
            except Exception as exc:
                error = _trace_error(exc, timeout=self.timeout, asn_methods=self.asn_methods)
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
        rdap_cache.put(self.storage, key, _owner_record(owner), now)
        return owner

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _answer(outcome: Owner | TraceError) -> Owner:
    if isinstance(outcome, TraceError):
        raise TraceError(outcome.kind, outcome.message)  # a fresh exception for each waiting thread
    return outcome
