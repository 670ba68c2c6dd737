"""Tracing owners: normalising, local answers, recorded RDAP answers through ipwhois, the cache, errors, threads.

The recorded responses (tests/fixtures/rdap) reach ipwhois through urllib: `RecordedRdap` is an
opener handler that answers by URL, so ipwhois's own `lookup_rdap`, HTTP code and parsing run
unchanged. Timeouts and refused connections use real sockets on 127.0.0.1. DNS never leaves the
process: `FakeResolver` replaces dnspython's resolver, so the machine's resolv.conf does not matter.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import Message
from io import BytesIO
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.error import URLError
from urllib.parse import unquote, urlsplit
from urllib.request import BaseHandler, ProxyHandler, Request
from urllib.response import addinfourl

import dns.resolver
import ipwhois.net
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ipwhois import IPWhois
from ipwhois.exceptions import HTTPLookupError, HTTPRateLimitError, IPDefinedError
from ipwhois.utils import ipv4_is_defined, ipv6_is_defined

from bot import __version__
from bot.trace import (
    Owner,
    RdapLookup,
    TraceError,
    Tracer,
    describe_owner,
    normalise,
    owner_from_rdap,
    special_purpose,
)
from storage import Storage, open_database, rdap_cache
from tests.thread_states import blocked_in, wait_until

FIXTURES = Path(__file__).parent / "fixtures" / "rdap"
T0 = 1_750_000_000.0
WEEK = 7 * 86400

# address → (recorded RDAP response, the org handle ARIN's whois REST service names for its registry)
RECORDED = {
    "74.125.225.229": ("arin-74.125.225.229.rdap.json", "ARIN"),
    "2001:4860:4860::8888": ("arin-2001_4860_4860__8888.rdap.json", "ARIN"),
    "62.239.237.1": ("ripencc-62.239.237.1.rdap.json", "RIPE"),
    "2a00:2381:ffff::1": ("ripencc-2a00_2381_ffff__1.rdap.json", "RIPE"),
    "210.107.73.73": ("apnic-210.107.73.73.rdap.json", "APNIC"),
    "2001:240:10c:1::ca20:9d1d": ("apnic-2001_240_10c_1__ca20_9d1d.rdap.json", "APNIC"),
    "200.57.141.161": ("lacnic-200.57.141.161.rdap.json", "LACNIC"),
    "2801:10:c000::": ("lacnic-2801_10_c000__.rdap.json", "LACNIC"),
    "196.11.240.215": ("afrinic-196.11.240.215.rdap.json", "AFRINIC"),
    "2001:43f8:7b0::": ("afrinic-2001_43f8_7b0__.rdap.json", "AFRINIC"),
    "13.64.0.0": ("whoisit-arin-13.64.0.0.rdap.json", "ARIN"),
    "130.59.31.80": ("whoisit-ripencc-130.59.31.80.rdap.json", "RIPE"),
    "1.1.1.1": ("whoisit-apnic-1.1.1.0_24.rdap.json", "APNIC"),
    "2001:4860::1": ("whoisit-arin-2001_4860__.rdap.json", "ARIN"),
}
ENTITIES = {"ZG39-ARIN": "arin-entity-ZG39-ARIN.rdap.json"}
REGISTRIES = {"ARIN": "arin", "RIPE": "ripencc", "APNIC": "apnic", "LACNIC": "lacnic", "AFRINIC": "afrinic"}


# --- test doubles -------------------------------------------------------------------------------------


def http_response(url: str, status: int, body: bytes) -> addinfourl:
    headers = Message()
    headers["Content-Type"] = "application/json"
    response = addinfourl(BytesIO(body), headers, url, status)
    response.msg = "OK" if status == 200 else "Error"  # HTTPErrorProcessor reads .msg
    return response


class RecordedRdap(BaseHandler):
    """Answers ipwhois's HTTPS requests from the recorded files; `answers` overrides by URL fragment."""

    handler_order = 100  # before urllib's own HTTPSHandler

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.answers: dict[str, int | tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def https_open(self, req: Request) -> addinfourl:
        url = req.full_url
        with self._lock:
            self.requests.append(url)
        for fragment, answer in self.answers.items():
            if fragment in url:
                status, body = answer if isinstance(answer, tuple) else (answer, b'{"errorCode": %d}' % answer)
                return http_response(url, status, body)
        parts = urlsplit(url)
        if parts.hostname == "whois.arin.net":
            # ipwhois's "http" ASN method; not recorded, so answered with the one field ipwhois reads.
            address = unquote(parts.path.split("q=", 1)[1])
            document = {"nets": {"net": {"orgRef": {"@handle": RECORDED[address][1]}}}}
            return http_response(url, 200, json.dumps(document).encode())
        name = unquote(parts.path.rsplit("/", 1)[1])
        file = ENTITIES.get(name) if "/entity/" in parts.path else RECORDED.get(name, (None,))[0]
        if file is None:
            return http_response(url, 404, b'{"errorCode": 404, "title": "Not Found"}')
        return http_response(url, 200, (FIXTURES / file).read_bytes())

    def rdap_requests(self) -> list[str]:
        return [url for url in self.requests if "whois.arin.net" not in url]


class ToLocalPort(BaseHandler):
    """Sends requests whose URL contains `fragment` to http://127.0.0.1:`port` instead."""

    handler_order = 100

    def __init__(self, port: int, fragment: str):
        self.port = port
        self.fragment = fragment

    def https_request(self, req: Request) -> Request:
        if self.fragment in req.full_url:
            parts = urlsplit(req.full_url)
            req.full_url = f"http://127.0.0.1:{self.port}/{parts.hostname}{parts.path}"
        return req


class FakeResolver:
    """dnspython's resolver without resolv.conf or network: answers only the TXT records in `answers`."""

    answers: dict[str, list[str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.timeout = 2.0
        self.lifetime = 2.0

    def resolve(self, qname: str, rdtype: str = "A", *args: Any, **kwargs: Any) -> list[str]:
        try:
            return list(self.answers[str(qname)])
        except KeyError:
            raise dns.resolver.NXDOMAIN() from None


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Counting:
    def __init__(self, inner: Callable[[str], Any]):
        self.inner = inner
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, address: str) -> Any:
        with self._lock:
            self.calls.append(address)
        return self.inner(address)


def never_called(address: str) -> dict:
    raise AssertionError(f"{address} was looked up")


def recorded_lookup(recorded: RecordedRdap, *extra: BaseHandler, **options: Any) -> RdapLookup:
    """The real default lookup, its HTTPS answered by `recorded` (ProxyHandler({}): *_proxy variables ignored)."""
    return RdapLookup(handlers=lambda: [ProxyHandler({}), *extra, recorded], **options)


def waiting_for_a_shared_lookup(threads: list[threading.Thread]) -> Callable[[], int]:
    """How many of `threads` wait on another thread's lookup (blocked in Future.result)."""
    return blocked_in(threads, "result", "futures")


def wait_for(condition: Callable[[], object], seconds: float = 30.0) -> None:
    wait_until(condition, seconds)


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> type[FakeResolver]:
    monkeypatch.setattr(dns.resolver, "Resolver", FakeResolver)
    monkeypatch.setattr(FakeResolver, "answers", {})
    return FakeResolver


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> mock.Mock:
    """ipwhois sleeps before retrying a rate-limited request; record instead of waiting."""
    sleep = mock.Mock()
    monkeypatch.setattr(ipwhois.net, "sleep", sleep)
    return sleep


@pytest.fixture
def storage(tmp_path: Path):
    opened = open_database(tmp_path / "warden.db", __version__)
    yield opened
    opened.close()


@pytest.fixture
def recorded() -> RecordedRdap:
    return RecordedRdap()


@pytest.fixture
def stalled_port():
    """A port that accepts connections (the kernel's backlog) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(32)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def cache_rows(storage: Storage) -> list[dict]:
    with storage.lock:
        return list(storage.db[rdap_cache.TABLE].rows)


# --- recorded answers from the five registries --------------------------------------------------------

OWNERS = {
    # ARIN networks carry no country: it comes from the registrant's vCard address ("…\nUNITED STATES").
    # GOOGLE's abuse contact is nested under the registrant, which depth=0 does not fetch.
    "74.125.225.229": dict(
        organisation="Google Inc.",
        network_name="GOOGLE",
        cidr="74.125.0.0/16",
        country="US",
        registry="arin",
        abuse_email=None,
        summary="GOOGLE (Google Inc.), US, ARIN, 74.125.0.0/16",
    ),
    "2001:4860:4860::8888": dict(
        organisation="Google Inc.",
        network_name="GOOGLE-IPV6",
        cidr="2001:4860::/32",
        country="US",
        registry="arin",
        abuse_email="arin-contact@google.com",
        summary="GOOGLE-IPV6 (Google Inc.), US, ARIN, 2001:4860::/32",
    ),
    "62.239.237.1": dict(
        organisation="BT-CORPORATE",
        network_name="BT-CORPORATE",
        cidr="62.239.237.0/24",
        country="GB",
        registry="ripencc",
        abuse_email="zzdnsr@bt.com",
        summary="BT-CORPORATE, GB, RIPE NCC, 62.239.237.0/24",
    ),
    "210.107.73.73": dict(
        organisation="BORANET-NET-210-107",
        network_name="BORANET-NET-210-107",
        cidr="210.107.0.0/17",
        country="KR",
        registry="apnic",
        abuse_email="hostmaster@nic.or.kr",
        summary="BORANET-NET-210-107, KR, APNIC, 210.107.0.0/17",
    ),
    "200.57.141.161": dict(
        organisation="Triara.com, S.A. de C.V.",
        network_name="Triara.com, S.A. de C.V.",
        cidr="200.57.141.161/32",
        country="MX",
        registry="lacnic",
        abuse_email="operacion.redes@TRIARA.COM",
        summary="Triara.com, S.A. de C.V., MX, LACNIC, 200.57.141.161/32",
    ),
    "196.11.240.215": dict(
        organisation="ORG-VSA1-AFRINIC",
        network_name="ORG-VSA1-AFRINIC",
        cidr="196.11.239.0/24, 196.11.240.0/22, 196.11.244.0/23, 196.11.246.0/24",
        country="ZA",
        registry="afrinic",
        abuse_email=None,
        summary="ORG-VSA1-AFRINIC, ZA, AFRINIC, 196.11.240.0/22 (+3 more)",
    ),
    "13.64.0.0": dict(
        organisation="Microsoft Corporation",
        network_name="MSFT",
        cidr="13.64.0.0/11, 13.96.0.0/13, 13.104.0.0/14",
        country="US",
        registry="arin",
        abuse_email=None,
        summary="MSFT (Microsoft Corporation), US, ARIN, 13.64.0.0/11 (+2 more)",
    ),
    "130.59.31.80": dict(
        organisation="SWITCH-LAN",
        network_name="SWITCH-LAN",
        cidr="130.59.0.0/16",
        country="CH",
        registry="ripencc",
        abuse_email="abuse@switch.ch",
        summary="SWITCH-LAN, CH, RIPE NCC, 130.59.0.0/16",
    ),
    "1.1.1.1": dict(
        organisation="APNIC-LABS",
        network_name="APNIC-LABS",
        cidr="1.1.1.0/24",
        country="AU",
        registry="apnic",
        abuse_email="helpdesk@apnic.net",
        summary="APNIC-LABS, AU, APNIC, 1.1.1.0/24",
    ),
}


@pytest.mark.parametrize("address", list(OWNERS))
def test_recorded_registry_answers_give_the_owner(storage: Storage, recorded: RecordedRdap, address: str) -> None:
    clock = Clock()
    owner = Tracer(storage, lookup=recorded_lookup(recorded), clock=clock).trace(address)
    expected = dict(OWNERS[address])
    assert owner.summary() == expected.pop("summary")
    assert {key: getattr(owner, key) for key in expected} == expected
    assert owner.kind == "rdap" and owner.address == address
    assert owner.asn is None and owner.asn_description is None  # the "http" ASN method names the registry only
    assert owner.local_reason is None
    assert owner.looked_up_at == datetime.fromtimestamp(T0, UTC)


@pytest.mark.parametrize("address", list(RECORDED))
def test_every_recorded_answer_is_read(storage: Storage, recorded: RecordedRdap, address: str) -> None:
    owner = Tracer(storage, lookup=recorded_lookup(recorded)).trace(address)
    assert owner.registry == REGISTRIES[RECORDED[address][1]]
    assert owner.network_name and owner.organisation and owner.cidr and owner.country
    registry_host = {
        "arin": "rdap.arin.net",
        "ripencc": "rdap.db.ripe.net",
        "apnic": "rdap.apnic.net",
        "lacnic": "rdap.lacnic.net",
        "afrinic": "rdap.afrinic.net",
    }[owner.registry]
    assert urlsplit(recorded.rdap_requests()[0]).hostname == registry_host


def test_the_default_lookup_asks_arin_then_the_registry(storage: Storage, recorded: RecordedRdap) -> None:
    Tracer(storage, lookup=recorded_lookup(recorded)).trace("74.125.225.229")
    assert recorded.requests == [
        "https://whois.arin.net/rest/nets;q=74.125.225.229?showDetails=true&showARIN=true",
        "https://rdap.arin.net/registry/ip/74.125.225.229",
    ]


def test_entities_without_vcards_are_fetched_and_their_failures_ignored(
    storage: Storage, recorded: RecordedRdap
) -> None:
    owner = Tracer(storage, lookup=recorded_lookup(recorded)).trace("130.59.31.80")
    entity_requests = [url for url in recorded.requests if "/entity/" in url]
    assert len(entity_requests) == 4  # root_ent_check; the recorded set has none of them: 404, ignored
    assert owner.abuse_email == "abuse@switch.ch"


def test_ipv4_mapped_address_is_traced_as_ipv4(storage: Storage, recorded: RecordedRdap) -> None:
    lookup = Counting(recorded_lookup(recorded))
    tracer = Tracer(storage, lookup=lookup)
    owner = tracer.trace("::ffff:74.125.225.229")
    assert owner.address == "74.125.225.229"
    assert owner.network_name == "GOOGLE"
    assert recorded.rdap_requests() == ["https://rdap.arin.net/registry/ip/74.125.225.229"]
    for spelling in ("[::ffff:74.125.225.229]", " 74.125.225.229 ", "::FFFF:4a7d:e1e5", "::ffff:74.125.225.229%3"):
        assert tracer.trace(spelling) == owner
    assert lookup.calls == ["74.125.225.229"]
    assert [row["address"] for row in cache_rows(storage)] == ["74.125.225.229"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("::ffff:74.125.225.229", "74.125.225.229"),
        ("[2001:4860:4860::8888]", "2001:4860:4860::8888"),
        ("2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888"),
        ("2001:DB8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("[fe80::1%25en0]", "fe80::1"),
        ("  8.8.8.8\n", "8.8.8.8"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text).compressed == expected


def test_the_dns_asn_method_adds_the_asn(storage: Storage, recorded: RecordedRdap, no_dns) -> None:
    recorded_asn = json.loads((FIXTURES / "asn_data-by-address.json").read_text())
    for address in ("74.125.225.229", "62.239.237.1"):
        data = recorded_asn[address]["asn_data"]
        zone = ipwhois.net.IPV4_DNS_ZONE.format(".".join(reversed(address.split("."))))
        fields = (data["asn"], data["asn_cidr"], data["asn_country_code"], data["asn_registry"], data["asn_date"])
        no_dns.answers[zone] = ['"' + " | ".join(fields) + '"']  # Team Cymru's TXT record
    tracer = Tracer(storage, lookup=recorded_lookup(recorded, asn_methods=("dns",)))
    google = tracer.trace("74.125.225.229")
    assert google.asn == "15169" and google.registry == "arin"
    assert google.summary() == "GOOGLE (Google Inc.), US, AS15169, 74.125.0.0/16"
    assert tracer.trace("62.239.237.1").summary() == "BT-CORPORATE, GB, AS2856, 62.239.237.0/24"
    assert not any("whois.arin.net" in url for url in recorded.requests)


def test_the_tracer_s_own_default_lookup(storage: Storage) -> None:
    """Tracer(storage) with no lookup: ipwhois's Net.get_http_json answered from the recorded files."""

    def get_http_json(net: Any, url: str, retry_count: int = 3, rate_limit_timeout: int = 120, headers=None):
        if "whois.arin.net" in url:
            return {"nets": {"net": {"orgRef": {"@handle": "ARIN"}}}}
        return json.loads((FIXTURES / "arin-74.125.225.229.rdap.json").read_text())

    with (
        mock.patch.object(ipwhois.net.Net, "get_http_json", autospec=True, side_effect=get_http_json),
        mock.patch.object(IPWhois, "lookup_rdap", autospec=True, side_effect=IPWhois.lookup_rdap) as lookup_rdap,
    ):
        owner = Tracer(storage, timeout=3.0).trace("74.125.225.229")
    assert owner.summary() == "GOOGLE (Google Inc.), US, ARIN, 74.125.0.0/16"
    assert lookup_rdap.call_args.kwargs == dict(
        asn_methods=["http"], inc_nir=False, retry_count=1, rate_limit_timeout=1, root_ent_check=True, depth=0
    )
    assert lookup_rdap.call_args.args[0].timeout == 3.0


# --- local answers ----------------------------------------------------------------------------------------

LOCAL = [
    ("10.1.2.3", "Private-Use (RFC 1918)"),
    ("172.31.255.255", "Private-Use (RFC 1918)"),
    ("192.168.0.1", "Private-Use (RFC 1918)"),
    ("::ffff:10.0.0.1", "Private-Use (RFC 1918)"),
    ("100.64.0.1", "Shared Address Space (RFC 6598)"),
    ("100.127.255.254", "Shared Address Space (RFC 6598)"),
    ("127.0.0.1", "Loopback (RFC 1122)"),
    ("::ffff:127.0.0.1", "Loopback (RFC 1122)"),
    ("::1", "Loopback (RFC 4291)"),
    ("169.254.10.1", "Link-Local (RFC 3927)"),
    ("fe80::1%eth0", "Link-Local (RFC 4291)"),
    ("192.0.2.7", "Documentation (RFC 5737)"),
    ("198.51.100.7", "Documentation (RFC 5737)"),
    ("203.0.113.7", "Documentation (RFC 5737)"),
    ("2001:db8::7", "Documentation (RFC 3849)"),
    ("3fff::1", "Documentation (RFC 9637)"),
    ("198.18.0.1", "Benchmarking (RFC 2544)"),
    ("198.19.255.255", "Benchmarking (RFC 2544)"),
    ("2001:2::1", "Benchmarking (RFC 5180)"),
    ("224.0.0.251", "Multicast (RFC 5771)"),
    ("239.255.255.250", "Multicast (RFC 5771)"),
    ("ff02::1", "Multicast (RFC 4291)"),
    ("0.0.0.0", "Unspecified (RFC 1122)"),
    ("::", "Unspecified (RFC 4291)"),
    ("0.1.2.3", "This Network (RFC 1122)"),
    ("255.255.255.255", "Limited Broadcast (RFC 919)"),
    ("240.0.0.1", "Reserved (RFC 1112)"),
    ("255.255.255.254", "Reserved (RFC 1112)"),
    ("192.0.0.9", "IETF Protocol Assignments (RFC 6890)"),
    ("192.88.99.1", "Deprecated 6to4 Relay Anycast (RFC 7526)"),
    ("fd12:3456::1", "Unique-Local (RFC 4193)"),
    ("fc00::1", "Unique-Local (RFC 4193)"),
    ("fec0::1", "Deprecated Site-Local (RFC 3879)"),
    ("2002:808:808::1", "6to4 (RFC 3056)"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo (RFC 4380)"),
    ("2001:4:112::1", "IETF Protocol Assignments (RFC 2928)"),
    ("64:ff9b::203.0.113.7", "IPv4/IPv6 Translation (RFC 6052)"),
    ("100::1", "Discard-Only (RFC 6666)"),
    ("::2", "Reserved by the IETF (RFC 4291)"),
    ("4000::1", "Reserved by the IETF (RFC 4291)"),
]


@pytest.mark.parametrize(("address", "reason"), LOCAL)
def test_special_purpose_addresses_are_answered_without_a_lookup(storage: Storage, address: str, reason: str) -> None:
    tracer = Tracer(storage, lookup=never_called, clock=Clock())
    owner = tracer.trace(address)
    assert (owner.kind, owner.local_reason) == ("local", reason)
    assert owner.address == normalise(address).compressed
    assert owner.summary().split(":")[0].endswith(")") and "not looked up" in owner.summary()
    assert owner.organisation is None and owner.cidr is None and owner.registry is None
    assert tracer.cached(address) == owner
    assert cache_rows(storage) == []


def test_local_summaries() -> None:
    def summary(address: str) -> str:
        return Tracer(mock.Mock(), lookup=never_called).trace(address).summary()

    assert summary("10.1.2.3") == "Private-Use network (RFC 1918): not looked up"
    assert summary("255.255.255.255") == "Limited Broadcast address (RFC 919): not looked up"
    assert summary("::1") == "Loopback address (RFC 4291): not looked up"
    assert summary("2002:808:808::1") == (
        "6to4 network (RFC 3056): not looked up; it carries the IPv4 address 8.8.8.8, which can be traced"
    )
    assert summary("64:ff9b::8.8.4.4").endswith("it carries the IPv4 address 8.8.4.4, which can be traced")


def test_ipwhois_sends_shared_address_space_to_the_registries() -> None:
    """Why the tracer keeps its own table: ipwhois would look 100.64.0.0/10 up."""
    assert not ipv4_is_defined("100.64.0.1")[0]
    assert special_purpose(ipaddress.ip_address("100.64.0.1")) == "Shared Address Space (RFC 6598)"


_SEEDS = [
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "0.0.0.0/0",
        "::/8",
        "100::/8",
        "200::/7",
        "400::/6",
        "800::/5",
        "1000::/4",
        "2000::/3",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "4000::/2",
        "64:ff9b::/96",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "::/0",
    )
]


@st.composite
def addresses(draw: st.DrawFn) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    network = draw(st.sampled_from(_SEEDS))
    first, last = int(network.network_address), int(network.broadcast_address)
    value = draw(st.one_of(st.integers(first, last), st.sampled_from([first, last, max(first - 1, 0), last + 1])))
    limit = 2**32 - 1 if network.version == 4 else 2**128 - 1
    return ipaddress.ip_address(min(value, limit)) if network.version == 4 else ipaddress.IPv6Address(min(value, limit))


@settings(max_examples=500, deadline=None)
@given(addresses())
def test_whatever_ipwhois_refuses_is_answered_locally(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Nothing ipwhois would refuse (IPDefinedError) reaches it: the tracer answers it first."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return  # unwrapped before this point
    defined = ipv4_is_defined(str(address)) if address.version == 4 else ipv6_is_defined(str(address))
    if defined[0]:
        assert special_purpose(address) is not None, defined


def test_ipwhois_refusal_still_gives_a_local_answer(storage: Storage) -> None:
    def refusing(address: str) -> dict:
        raise IPDefinedError(f"IPv6 address {address} is already defined as Reserved via RFC 4291.")

    owner = Tracer(storage, lookup=refusing).trace("2600::1")
    assert (owner.kind, owner.local_reason) == ("local", "Special-Purpose (RFC 6890)")
    assert owner.summary() == "Special-Purpose (RFC 6890): not looked up"
    assert cache_rows(storage) == []


# --- invalid input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "Nothing to trace"),
        ("   ", "Nothing to trace"),
        ("example.com", "looks like a host name"),
        ("1.2.3.256", "is not an IP address"),
        ("fe80::1::2", "is not an IP address"),
        ("1.2.3.0/24", "is a network; give one address"),
        ("010.001.002.003", "has leading zeros"),
    ],
)
def test_invalid_text(storage: Storage, text: str, why: str) -> None:
    tracer = Tracer(storage, lookup=never_called)
    with pytest.raises(TraceError) as raised:
        tracer.trace(text)
    assert raised.value.kind == "invalid"
    assert why in raised.value.message
    assert "IPv4 address (203.0.113.7) or IPv6 address (2001:db8::7)" in raised.value.message
    with pytest.raises(TraceError):
        tracer.cached(text)


# --- the cache ------------------------------------------------------------------------------------------------


def test_a_repeat_within_the_ttl_costs_no_lookup(storage: Storage, recorded: RecordedRdap) -> None:
    clock = Clock()
    lookup = Counting(recorded_lookup(recorded))
    tracer = Tracer(storage, lookup=lookup, clock=clock)
    first = tracer.trace("74.125.225.229")
    clock.now += WEEK - 1
    assert tracer.trace("74.125.225.229") == first
    assert tracer.cached("74.125.225.229") == first
    assert Tracer(storage, lookup=never_called, clock=clock).trace("74.125.225.229") == first  # after a restart
    assert lookup.calls == ["74.125.225.229"]

    clock.now += 1  # the TTL has passed
    assert tracer.cached("74.125.225.229") is None
    again = tracer.trace("74.125.225.229")
    assert lookup.calls == ["74.125.225.229"] * 2
    assert again.looked_up_at == datetime.fromtimestamp(T0 + WEEK, UTC)
    assert again.summary() == first.summary()


def test_ttl_is_configurable(storage: Storage, recorded: RecordedRdap) -> None:
    clock = Clock()
    lookup = Counting(recorded_lookup(recorded))
    tracer = Tracer(storage, lookup=lookup, clock=clock, ttl=60)
    tracer.trace("62.239.237.1")
    clock.now += 59
    tracer.trace("62.239.237.1")
    clock.now += 1
    tracer.trace("62.239.237.1")
    assert len(lookup.calls) == 2


def test_not_found_is_cached_for_an_hour(storage: Storage, recorded: RecordedRdap) -> None:
    recorded.answers["rdap.arin.net/registry/ip/"] = 404
    clock = Clock()
    lookup = Counting(recorded_lookup(recorded))
    tracer = Tracer(storage, lookup=lookup, clock=clock)
    for _ in range(2):
        with pytest.raises(TraceError) as raised:
            tracer.trace("74.125.225.229")
        assert raised.value.kind == "not_found"
        assert raised.value.message == "No registry has a record of this address."
    assert len(lookup.calls) == 1
    assert tracer.cached("74.125.225.229") is None

    clock.now += 3600
    del recorded.answers["rdap.arin.net/registry/ip/"]
    assert tracer.trace("74.125.225.229").network_name == "GOOGLE"
    assert len(lookup.calls) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_errors_are_not_cached(storage: Storage, recorded: RecordedRdap, status: int) -> None:
    recorded.answers["rdap.arin.net"] = status
    lookup = Counting(recorded_lookup(recorded))
    tracer = Tracer(storage, lookup=lookup)
    for _ in range(2):
        with pytest.raises(TraceError):
            tracer.trace("74.125.225.229")
    assert len(lookup.calls) == 2
    assert cache_rows(storage) == []


def test_prune_removes_entries_older_than_the_ttl(storage: Storage, recorded: RecordedRdap) -> None:
    clock = Clock()
    tracer = Tracer(storage, lookup=recorded_lookup(recorded), clock=clock)
    tracer.trace("74.125.225.229")
    clock.now += WEEK
    tracer.trace("62.239.237.1")
    assert tracer.prune() == 0
    clock.now += 1
    assert tracer.prune() == 1
    assert [row["address"] for row in cache_rows(storage)] == ["62.239.237.1"]


def test_rdap_cache_table(storage: Storage) -> None:
    with storage.lock:
        columns = {c.name: (c.type, c.notnull, c.is_pk) for c in storage.db[rdap_cache.TABLE].columns}
    assert columns == {
        "address": ("TEXT", 0, 1),
        "owner_json": ("TEXT", 1, 0),
        "looked_up_at": ("REAL", 1, 0),
    }
    rdap_cache.put(storage, "192.0.2.1", {"kind": "rdap", "network_name": "Ω"}, 200.0)
    rdap_cache.put(storage, "192.0.2.1", {"kind": "rdap", "network_name": "older"}, 100.0)  # never replaces newer
    assert rdap_cache.get(storage, "192.0.2.1") == ({"kind": "rdap", "network_name": "Ω"}, 200.0)
    assert rdap_cache.get(storage, "192.0.2.2") is None
    with storage.transaction() as db:
        db.execute("INSERT INTO rdap_cache VALUES ('192.0.2.3', 'not json', 1.0)")
    assert rdap_cache.get(storage, "192.0.2.3") is None
    assert rdap_cache.prune(storage, before=150.0) == 1
    assert rdap_cache.prune(storage, before=150.0) == 0


def test_an_unreadable_cache_entry_is_looked_up_again(storage: Storage, recorded: RecordedRdap) -> None:
    rdap_cache.put(storage, "74.125.225.229", {"kind": "rdap", "asn": 15169}, T0)
    lookup = Counting(recorded_lookup(recorded))
    assert Tracer(storage, lookup=lookup, clock=Clock()).trace("74.125.225.229").network_name == "GOOGLE"
    assert len(lookup.calls) == 1


# --- errors --------------------------------------------------------------------------------------------------


def trace_error(storage: Storage, lookup: Callable[[str], Any], address: str = "74.125.225.229") -> TraceError:
    with pytest.raises(TraceError) as raised:
        Tracer(storage, lookup=lookup).trace(address)
    return raised.value


@pytest.mark.parametrize("fragment", ["rdap.arin.net", "whois.arin.net"])
def test_http_429_is_rate_limited_without_sleeping(
    storage: Storage, recorded: RecordedRdap, no_sleep: mock.Mock, fragment: str
) -> None:
    """ipwhois would sleep before retrying a 429 (120 s in its ASN step, whatever rate_limit_timeout says)."""
    recorded.answers[fragment] = 429
    error = trace_error(storage, recorded_lookup(recorded))
    assert error.kind == "rate_limited"
    assert fragment in error.message
    no_sleep.assert_not_called()
    assert len([url for url in recorded.requests if fragment in url]) == 1


def test_a_rate_limit_notice_is_rate_limited(storage: Storage, recorded: RecordedRdap, no_sleep: mock.Mock) -> None:
    notice = {"notices": [{"title": "Rate Limit Notice", "description": ["Slow down."]}]}
    recorded.answers["rdap.arin.net"] = (200, json.dumps(notice).encode())
    error = trace_error(storage, recorded_lookup(recorded))
    assert error.kind == "rate_limited"
    no_sleep.assert_called_once_with(1)  # rate_limit_timeout=1, retry_count=1


@pytest.mark.parametrize("fragment", ["rdap.arin.net", "whois.arin.net"])
def test_a_registry_that_does_not_answer_is_a_timeout(
    storage: Storage, recorded: RecordedRdap, stalled_port: int, fragment: str
) -> None:
    lookup = recorded_lookup(recorded, ToLocalPort(stalled_port, fragment), timeout=0.2)
    error = trace_error(storage, lookup)
    assert error.kind == "timeout"
    assert error.message == f"{fragment} did not answer within 0.2 s; try again later."


def test_a_refused_connection_is_unavailable(storage: Storage, recorded: RecordedRdap, closed_port: int) -> None:
    lookup = recorded_lookup(recorded, ToLocalPort(closed_port, "rdap.arin.net"))
    error = trace_error(storage, lookup)
    assert error.kind == "unavailable"
    assert error.message.startswith("rdap.arin.net could not be reached (")


def test_a_server_error_is_unavailable(storage: Storage, recorded: RecordedRdap) -> None:
    recorded.answers["rdap.arin.net"] = 503
    error = trace_error(storage, recorded_lookup(recorded))
    assert (error.kind, error.message) == ("unavailable", "rdap.arin.net answered HTTP 503; try again later.")


def test_an_asn_step_without_a_registry_suggests_other_methods(storage: Storage, recorded: RecordedRdap) -> None:
    recorded.answers["whois.arin.net"] = (200, b'{"nets": {"net": {"orgRef": {"@handle": "IANA"}}}}')
    error = trace_error(storage, recorded_lookup(recorded))
    assert error.kind == "unavailable"
    assert error.message.startswith("ASN lookup failed")
    assert 'try asn_methods = ["dns", "http"]' in error.message


def test_no_dns_resolver_configured(storage: Storage, recorded: RecordedRdap, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_nameservers(*args: Any, **kwargs: Any) -> None:
        raise dns.resolver.NoResolverConfiguration("no nameservers")

    monkeypatch.setattr(dns.resolver, "Resolver", no_nameservers)
    error = trace_error(storage, recorded_lookup(recorded))
    assert error.kind == "unavailable"
    assert "no DNS resolver" in error.message
    assert recorded.requests == []


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (HTTPRateLimitError("HTTP lookup failed for https://rdap.arin.net/. Rate limit exceeded"), "rate_limited"),
        (
            HTTPLookupError("HTTP lookup failed for https://rdap.arin.net/registry/ip/x with error code 404."),
            "not_found",
        ),
        (
            HTTPLookupError("HTTP lookup failed for https://rdap.arin.net/registry/ip/x with error code 500."),
            "unavailable",
        ),
        (TimeoutError("timed out"), "timeout"),
        (URLError(TimeoutError("timed out")), "timeout"),
        (URLError(ConnectionRefusedError(111, "Connection refused")), "unavailable"),
        (ConnectionResetError(104, "Connection reset by peer"), "unavailable"),
        (dns.exception.Timeout(), "timeout"),
        (TraceError("rate_limited", "slow down"), "rate_limited"),
        (KeyError("network"), "unavailable"),
    ],
)
def test_errors_of_any_lookup_are_mapped(storage: Storage, raised: Exception, kind: str) -> None:
    def failing(address: str) -> dict:
        raise raised

    assert trace_error(storage, failing).kind == kind


def test_errors_raised_inside_ipwhois_are_mapped(storage: Storage) -> None:
    """The default lookup with ipwhois's Net.get_http_json raising what it raises."""
    answers: dict[str, Exception] = {}

    def get_http_json(net: Any, url: str, retry_count: int = 3, rate_limit_timeout: int = 120, headers=None):
        if "whois.arin.net" in url:
            return {"nets": {"net": {"orgRef": {"@handle": "ARIN"}}}}
        raise answers["rdap"]

    with mock.patch.object(ipwhois.net.Net, "get_http_json", autospec=True, side_effect=get_http_json):
        answers["rdap"] = HTTPRateLimitError("HTTP lookup failed for https://rdap.arin.net/. Rate limit exceeded")
        assert trace_error(storage, RdapLookup()).kind == "rate_limited"
        answers["rdap"] = HTTPLookupError("HTTP lookup failed for https://rdap.arin.net/ with error code 404.")
        assert trace_error(storage, RdapLookup()).kind == "not_found"


def test_a_lookup_answer_that_is_not_a_dict(storage: Storage) -> None:
    assert trace_error(storage, lambda address: None).kind == "unavailable"


def test_trace_error_kinds_are_checked() -> None:
    with pytest.raises(ValueError):
        TraceError("broken", "nope")


@pytest.mark.parametrize(
    "options",
    [dict(max_concurrent=0), dict(timeout=0), dict(ttl=-1), dict(asn_methods=("cymru",)), dict(asn_methods=())],
)
def test_settings_are_checked(storage: Storage, options: dict) -> None:
    with pytest.raises(ValueError):
        Tracer(storage, **options)


# --- reading ipwhois's answer ---------------------------------------------------------------------------------


def test_country_falls_back_to_the_asn_country() -> None:
    at = datetime.fromtimestamp(T0, UTC)
    result = {
        "asn_country_code": "de",
        "network": {"name": "EXAMPLE", "country": None},
        "objects": {
            "X": {
                "roles": ["registrant"],
                "contact": {"name": "Example GmbH", "address": [{"value": "Berlin\nGermany"}]},
            },
        },
    }
    owner = owner_from_rdap("192.0.2.1", result, at)
    assert (owner.organisation, owner.country) == ("Example GmbH", "DE")  # "Germany" is not guessed at
    assert owner_from_rdap("192.0.2.1", {}, at) == Owner(address="192.0.2.1", kind="rdap", looked_up_at=at)
    assert Owner(address="192.0.2.1", kind="rdap", looked_up_at=at).summary() == "owner not named"


# --- threads --------------------------------------------------------------------------------------------------


def run_threads(
    count: int, target: Callable[[int], Any]
) -> tuple[list[Any], list[BaseException], list[threading.Thread]]:
    """Start `count` threads running `target(i)`; their results and errors fill the lists as they end."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = target(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    return results, errors, threads


def test_concurrent_traces_of_one_address_share_one_lookup(storage: Storage, recorded: RecordedRdap) -> None:
    gate = threading.Event()
    inner = recorded_lookup(recorded)

    def slow(address: str) -> Any:
        gate.wait(10)
        return inner(address)

    lookup = Counting(slow)
    tracer = Tracer(storage, lookup=lookup)
    spellings = ["74.125.225.229", "::ffff:74.125.225.229", "[74.125.225.229]", " 74.125.225.229 ", "::ffff:4a7d:e1e5"]
    results, errors, threads = run_threads(10, lambda i: tracer.trace(spellings[i % len(spellings)]))
    wait_for(lambda: lookup.calls)
    waiting = waiting_for_a_shared_lookup(threads)
    wait_for(lambda: waiting() == 9, seconds=30)  # the other nine wait on the one lookup
    gate.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert lookup.calls == ["74.125.225.229"]
    assert all(owner == results[0] for owner in results)
    assert results[0].network_name == "GOOGLE"


def test_concurrent_traces_share_a_failure_too(storage: Storage) -> None:
    gate = threading.Event()

    def failing(address: str) -> Any:
        gate.wait(10)
        raise TraceError("unavailable", "rdap.arin.net answered HTTP 503; try again later.")

    lookup = Counting(failing)
    tracer = Tracer(storage, lookup=lookup)
    results, errors, threads = run_threads(6, lambda i: tracer.trace("74.125.225.229"))
    wait_for(lambda: lookup.calls)
    waiting = waiting_for_a_shared_lookup(threads)
    wait_for(lambda: waiting() == 5, seconds=30)  # a thread arriving after the failure would look up again
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(errors) == 6 and all(isinstance(e, TraceError) and e.kind == "unavailable" for e in errors)
    assert len({id(e) for e in errors}) == 6  # each thread raises its own exception
    assert lookup.calls == ["74.125.225.229"]
    with pytest.raises(TraceError):
        tracer.trace("74.125.225.229")  # not cached: looked up again
    assert len(lookup.calls) == 2


@pytest.mark.parametrize("max_concurrent", [1, 3])
def test_lookups_never_exceed_max_concurrent(storage: Storage, max_concurrent: int) -> None:
    lock = threading.Lock()
    release = threading.Event()
    state = {"active": 0, "peak": 0}

    def slow(address: str) -> dict:
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        release.wait(10)
        with lock:
            state["active"] -= 1
        return {"network": {"name": f"NET-{address}", "cidr": f"{address}/32"}, "asn_registry": "arin"}

    tracer = Tracer(storage, lookup=slow, max_concurrent=max_concurrent)
    addresses = [f"8.8.{i}.8" for i in range(8)]
    results, errors, threads = run_threads(len(addresses), lambda i: tracer.trace(addresses[i]))
    wait_for(lambda: state["active"] == max_concurrent)
    waiting_for_a_slot = blocked_in(threads, "acquire", "threading")
    wait_for(lambda: waiting_for_a_slot() == len(addresses) - max_concurrent, seconds=30)
    assert state["active"] == max_concurrent  # the others wait for a slot
    release.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert state["peak"] == max_concurrent
    assert [owner.network_name for owner in results] == [f"NET-{a}" for a in addresses]


# --- one description of an owner, rendered per medium -------------------------------------------------------


def test_one_owner_description_is_escaped_for_slack_and_plain_on_the_terminal() -> None:
    from bot.changes.requests import owner_text as slack_text
    from bot.cli_text import owner_text as terminal_text

    owner = Owner(
        address="12.0.0.1",
        kind="rdap",
        organisation="AT&T Enterprises, LLC",
        network_name="ATT",
        cidr="12.0.0.0/8",
        asn_description="<AT&T>",
        asn="7018",
        looked_up_at=datetime.now(UTC),
    )
    description = describe_owner(owner)
    assert description.summary == owner.summary() == "ATT (AT&T Enterprises, LLC), AS7018, 12.0.0.0/8"
    assert description.facts == (
        ("Organisation", "AT&T Enterprises, LLC"),
        ("Network", "ATT"),
        ("CIDR", "12.0.0.0/8"),
        ("ASN", "AS7018 <AT&T>"),
    )
    assert terminal_text(description).splitlines() == description.lines()
    assert description.lines()[0] == "12.0.0.1: ATT (AT&T Enterprises, LLC), AS7018, 12.0.0.0/8"
    slack = slack_text(owner).splitlines()
    assert slack[0] == "*12.0.0.1*: ATT (AT&amp;T Enterprises, LLC), AS7018, 12.0.0.0/8"
    assert slack[-1] == "ASN: AS7018 &lt;AT&amp;T&gt;"
    assert len(slack) == len(description.lines())


def test_a_local_answer_is_described_by_its_summary_alone() -> None:
    owner = Tracer(mock.Mock(), lookup=never_called).trace("2002:808:808::1")
    description = describe_owner(owner)
    assert description.facts == ()
    assert description.lines() == [f"2002:808:808::1: {owner.summary()}"]
    assert "it carries the IPv4 address 8.8.8.8" in description.summary
