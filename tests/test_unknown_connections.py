"""unknown-connections is pure: NETSTAT rows and trusted networks in, findings out."""

from __future__ import annotations

import importlib
import ipaddress
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.checks import unknown_connections
from bot.checks.unknown_connections import JOBS_NOT_VISIBLE, evaluate, untrusted_remote
from bot.ibmi.rows import ConnectionJob, parse_address
from bot.net import TrustList
from tests.netstat_rows import LISTEN, TRUSTED, row


def test_one_finding_per_untrusted_address_with_its_ports_and_user():
    rows = [LISTEN, row("203.0.113.9", 23), row("203.0.113.9", 8471, remote_port=40001), row("10.2.3.4", 23)]
    jobs = [ConnectionJob("IPV4", "203.0.113.9", 40000, "10.1.1.5", 23, "QSECOFR", "123456/QSECOFR/QPADEV0001")]
    [finding] = evaluate("PROD", rows, jobs, TRUSTED)
    assert finding.subject == "203.0.113.9" and finding.check == "unknown-connections"
    assert finding.title == "2 connections from untrusted address 203.0.113.9"
    assert "Local ports: 23 (telnet), 8471" in finding.details
    assert "User: QSECOFR" in finding.details
    assert [c["local_port"] for c in finding.facts["connections"]] == [23, 8471]


def test_loopback_listening_and_closed_connections_are_not_findings():
    rows = [LISTEN, row("127.0.0.1"), row("::1"), row("203.0.113.9", state="TIME_WAIT"), row("::ffff:127.0.0.1")]
    assert evaluate("PROD", rows, [], TRUSTED) == []


def test_mapped_addresses_are_judged_as_ipv4():
    assert evaluate("PROD", [LISTEN, row("::ffff:10.9.9.9")], [], TRUSTED) == []
    [finding] = evaluate("PROD", [LISTEN, row("::ffff:203.0.113.9")], [], TRUSTED)
    assert finding.subject == "203.0.113.9"


def test_same_address_mapped_and_plain_is_one_finding():
    findings = evaluate("PROD", [LISTEN, row("::ffff:203.0.113.9"), row("203.0.113.9", 21)], [], TRUSTED)
    assert [f.subject for f in findings] == ["203.0.113.9"]


def test_unreadable_jobs_are_said_not_hidden():
    [finding] = evaluate("PROD", [LISTEN, row("203.0.113.9")], None, TRUSTED)
    assert JOBS_NOT_VISIBLE in finding.details


def test_no_listening_sockets_means_cannot_see_not_all_clear():
    for rows in ([row("10.2.3.4")], []):
        [finding] = evaluate("PROD", rows, [], TRUSTED)
        assert finding.subject == "netstat-visibility" and finding.severity == "warning"


def test_fingerprint_is_stable_and_depends_on_system_check_and_subject():
    a = evaluate("PROD", [LISTEN, row("203.0.113.9")], [], TRUSTED)[0]
    b = evaluate("prod", [LISTEN, row("203.0.113.9", 21)], None, TRUSTED)[0]
    c = evaluate("DEV", [LISTEN, row("203.0.113.9")], [], TRUSTED)[0]
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert unknown_connections.cannot_see("PROD").fingerprint != a.fingerprint


ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
networks = st.one_of(
    st.tuples(ipv4, st.integers(0, 32)).map(lambda t: ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False)),
    st.tuples(ipv6, st.integers(0, 128)).map(lambda t: ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False)),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(networks, max_size=20), st.one_of(ipv4, ipv6))
def test_trust_list_agrees_with_a_plain_scan(trusted, address):
    assert (address in TrustList(trusted)) == any(address in network for network in trusted)


@settings(max_examples=500, deadline=None)
@given(ipv4)
def test_mapped_and_plain_forms_are_treated_alike(address):
    mapped = f"::ffff:{address}"
    assert parse_address(mapped) == address
    assert untrusted_remote(row(mapped), TRUSTED) == untrusted_remote(row(str(address)), TRUSTED)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(ipv4, ipv6), max_size=30))
def test_every_untrusted_remote_address_gets_exactly_one_finding(addresses):
    rows = [LISTEN] + [row(str(a), 23, remote_port=40000 + i) for i, a in enumerate(addresses)]
    findings = evaluate("PROD", rows, [], TRUSTED)
    normalised = [parse_address(str(a)) for a in addresses]  # IPv4-mapped addresses are judged as IPv4
    expected = {a.compressed for a in normalised if not (a.is_loopback or a.is_unspecified or a in TRUSTED)}
    assert [f.subject for f in findings if f.subject != "netstat-visibility"] == sorted(
        expected, key=lambda s: (ipaddress.ip_address(s).version, ipaddress.ip_address(s))
    )


def test_text_that_is_not_an_address_is_ignored():
    assert parse_address("not-an-ip") is None
    assert parse_address("fe80::1%eth0") == ipaddress.ip_address("fe80::1")
    assert evaluate("PROD", [LISTEN, row("garbage")], [], TRUSTED) == []


def test_the_configurable_checks_are_exactly_the_implemented_ones():
    from bot.checks import registry

    folders = Path(registry.__file__).parent.iterdir()
    shared = {"audit_journal"}  # what the audit journal checks share: a package with no CHECK
    packages = {folder.name for folder in folders if (folder / "__init__.py").is_file()} - shared
    assert set(registry.check_ids()) == {package.replace("_", "-") for package in packages}
    assert not hasattr(importlib.import_module("bot.checks.audit_journal"), "CHECK")
