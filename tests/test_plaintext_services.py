"""plaintext-services is pure: NETSTAT rows, trusted networks and the port table in, findings out."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.checks.plaintext_services import (
    CHECK_ID,
    DEFAULT_PORTS,
    PlaintextPort,
    PlaintextSettings,
    evaluate,
    remote_peer,
)
from bot.ibmi import sql
from bot.ibmi_settings import open_system
from bot.net import TrustList
from tests.conftest import demo_settings
from tests.netstat_rows import LISTEN, TRUSTED, row


def by_subject(findings):
    return {f.subject: f for f in findings}


# --- the rules -----------------------------------------------------------------------------------


def test_one_finding_per_port_with_untrusted_and_trusted_addresses_told_apart():
    rows = [
        LISTEN,
        row("203.0.113.9", 23),
        row("203.0.113.9", 23, remote_port=40001),
        row("10.2.3.4", 23),
        row("198.51.100.7", 23),
    ]
    [finding] = evaluate("PROD", rows, TRUSTED)
    assert finding.check == CHECK_ID and finding.subject == "port-23"
    assert finding.severity == "critical"
    assert finding.title == "Plaintext port 23 (telnet): 4 connections from 3 addresses, 2 untrusted"
    assert finding.details[0] == "Untrusted: 198.51.100.7, 203.0.113.9 (2 connections)"
    assert finding.details[1] == "Trusted: 10.2.3.4"
    assert any("Use port 992 (telnet over TLS)" in d for d in finding.details)
    assert any("5250 sessions without SSL" in d for d in finding.details)
    assert finding.facts["port"] == 23 and finding.facts["tls_port"] == 992 and finding.facts["service"] == "telnet"
    assert finding.facts["connections"] == 4
    assert finding.facts["addresses"] == [
        {"address": "198.51.100.7", "trusted": False, "connections": 1},
        {"address": "203.0.113.9", "trusted": False, "connections": 2},
        {"address": "10.2.3.4", "trusted": True, "connections": 1},
    ]


def test_only_trusted_addresses_is_a_warning_not_silence():
    [finding] = evaluate("PROD", [LISTEN, row("10.2.3.4", 8476), row("192.168.7.7", 8476)], TRUSTED)
    assert finding.severity == "warning"
    assert finding.title == "Plaintext port 8476 (as-signon): 2 connections from 2 addresses, all trusted"
    assert not any(d.startswith("Untrusted") for d in finding.details)


def test_ftp_is_at_most_a_warning_and_carries_the_auth_tls_caveat():
    [finding] = evaluate("PROD", [LISTEN, row("203.0.113.9", 21)], TRUSTED)
    assert finding.severity == "warning" and finding.facts["tls_port"] == 990
    assert any("AUTH TLS" in d and "does not prove plaintext" in d for d in finding.details)
    assert "Severity held at warning for port 21 (max_severity)." in finding.details


def test_http_80_carries_the_convention_note_and_server_mapper_is_information():
    findings = by_subject(evaluate("PROD", [LISTEN, row("203.0.113.9", 80), row("203.0.113.9", 449)], TRUSTED))
    assert findings["port-80"].severity == "warning"
    assert any("general convention" in d for d in findings["port-80"].details)
    svrmap = findings["port-449"]
    assert svrmap.severity == "info" and svrmap.facts["tls_port"] is None
    assert "IBM lists no TLS port for as-svrmap." in svrmap.details


def test_every_host_server_and_admin_port_of_ibms_table_is_covered():
    table = {p.port: p.tls_port for p in DEFAULT_PORTS}
    for port in range(8470, 8477):
        assert table[port] == port + 1000
    assert table[23] == 992 and table[446] == 448 and table[2001] == 2010 and table[449] is None


def test_loopback_unspecified_tls_ports_other_states_and_outbound_are_not_findings():
    rows = [
        LISTEN,
        row("127.0.0.1", 8471),
        row("::1", 23),
        row("::ffff:127.0.0.1", 23),
        row("0.0.0.0", 23),
        row("203.0.113.9", 992),  # TLS
        row("203.0.113.9", 9471),  # TLS
        row("203.0.113.9", 23, state="TIME_WAIT"),
        row("203.0.113.9", 51000, remote_port=23),  # the IBM i as a telnet client: not a service here
    ]
    assert evaluate("PROD", rows, TRUSTED) == []


def test_mapped_and_plain_forms_of_one_address_are_one_address():
    [finding] = evaluate("PROD", [LISTEN, row("::ffff:203.0.113.9"), row("203.0.113.9", remote_port=41000)], TRUSTED)
    assert finding.facts["addresses"] == [{"address": "203.0.113.9", "trusted": False, "connections": 2}]
    [trusted] = evaluate("PROD", [LISTEN, row("::ffff:10.1.20.58", 446)], TRUSTED)
    assert trusted.severity == "warning" and trusted.details[0] == "Trusted: 10.1.20.58"


def test_ipv6_addresses_are_judged_against_ipv6_networks():
    findings = evaluate("PROD", [LISTEN, row("2001:db8:1::5", 23), row("2001:db8:2::5", 23)], TRUSTED)
    [finding] = findings
    assert finding.details[:2] == ("Untrusted: 2001:db8:2::5", "Trusted: 2001:db8:1::5")


def test_text_that_is_not_an_address_is_reported_as_untrusted_never_ignored():
    [finding] = evaluate("PROD", [LISTEN, row("garbage", 23)], TRUSTED)
    assert finding.severity == "critical"
    assert finding.details[0] == "Untrusted: garbage (not an IP address as read)"


def test_long_address_lists_are_capped_but_facts_keep_every_address():
    rows = [LISTEN] + [row(f"203.0.113.{i}", 23) for i in range(1, 6)]
    [finding] = evaluate("PROD", rows, TRUSTED, PlaintextSettings(max_listed=3))
    assert finding.details[0] == "Untrusted: 203.0.113.1, 203.0.113.2, 203.0.113.3 and 2 more"
    assert len(finding.facts["addresses"]) == 5


def test_no_listening_socket_means_cannot_see_not_all_clear():
    for rows in ([row("203.0.113.9")], []):
        [finding] = evaluate("PROD", rows, TRUSTED)
        assert finding.subject == "netstat-visibility" and finding.severity == "warning"
        assert finding.check == CHECK_ID


def test_findings_are_ordered_by_port_and_fingerprints_follow_the_port():
    rows = [LISTEN, row("203.0.113.9", 8471), row("203.0.113.9", 23), row("10.1.1.1", 446)]
    findings = evaluate("PROD", rows, TRUSTED)
    assert [f.subject for f in findings] == ["port-23", "port-446", "port-8471"]
    again = evaluate("prod", [LISTEN, row("198.51.100.1", 23)], TRUSTED)[0]
    assert again.fingerprint == findings[0].fingerprint


# --- settings ------------------------------------------------------------------------------------


def test_settings_build_from_toml_values_and_replace_the_table():
    custom = PlaintextSettings(
        ports=[{"port": 23, "service": "telnet", "tls_port": 992}, {"port": 8080, "service": "intranet"}],
        max_listed=5,
    )
    assert custom.ports == (PlaintextPort(23, "telnet", 992), PlaintextPort(8080, "intranet"))
    findings = evaluate("PROD", [LISTEN, row("203.0.113.9", 8080), row("203.0.113.9", 8471)], TRUSTED, custom)
    [finding] = findings
    assert finding.subject == "port-8080" and "IBM lists no TLS port for intranet." in finding.details


def test_max_severity_from_toml_caps_a_port():
    custom = PlaintextSettings(ports=[{"port": 23, "service": "telnet", "tls_port": 992, "max_severity": "info"}])
    [finding] = evaluate("PROD", [LISTEN, row("203.0.113.9")], TRUSTED, custom)
    assert finding.severity == "info"


@pytest.mark.parametrize(
    ("ports", "message"),
    [
        ([{"port": 23, "service": "telnet", "tls": 992}], "ports[0]: unknown key 'tls'"),
        ([{"service": "telnet"}], "ports[0]: missing key 'port'"),
        ([{"port": 0, "service": "x"}], "ports[0]: port must be a port number"),
        ([{"port": 23, "service": "x", "tls_port": 23}], "same as port"),
        ([{"port": 23, "service": ""}], "service must be a non-empty string"),
        ([{"port": 23, "service": "x", "max_severity": "high"}], "max_severity must be one of"),
        ([{"port": True, "service": "x"}], "port must be a port number"),
        ([{"port": 23, "service": "a"}, {"port": 23, "service": "b"}], "port 23 is listed twice"),
        (["telnet"], "ports[0]: expected a table"),
        ("telnet", "ports must be a list"),
    ],
)
def test_bad_settings_say_what_is_wrong(ports, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        PlaintextSettings(ports=ports)


def test_max_listed_must_be_positive():
    with pytest.raises(ValueError, match="max_listed"):
        PlaintextSettings(max_listed=0)


# --- properties ----------------------------------------------------------------------------------

ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
networks = st.one_of(
    st.tuples(ipv4, st.integers(0, 32)).map(lambda t: ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False)),
    st.tuples(ipv6, st.integers(0, 128)).map(lambda t: ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False)),
)
# Mostly addresses near the trusted networks, so both sides of the split are exercised.
near_trusted = st.one_of(
    st.integers(0, 2**24 - 1).map(lambda n: ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.0.0.0")) + n)),
    st.integers(0, 2**16 - 1).map(lambda n: ipaddress.IPv4Address(int(ipaddress.IPv4Address("192.168.0.0")) + n)),
    ipv4,
    ipv6,
)
STATES = st.sampled_from(["ESTABLISHED", "LISTEN", "TIME_WAIT"])


def canonical(address):
    """An IPv4-mapped IPv6 address is its IPv4 address (NETSTAT shows both forms)."""
    return getattr(address, "ipv4_mapped", None) or address


table_ports = st.sampled_from([p.port for p in DEFAULT_PORTS] + [22, 992, 9471, 50000])


@settings(max_examples=300, deadline=None)
@given(ipv4, st.lists(networks, max_size=8), st.sampled_from([p.port for p in DEFAULT_PORTS]))
def test_mapped_and_plain_forms_give_the_same_findings(address, trusted_networks, port):
    trusted = TrustList(trusted_networks)
    plain = evaluate("PROD", [LISTEN, row(str(address), port)], trusted)
    mapped = evaluate("PROD", [LISTEN, row(f"::ffff:{address}", port)], trusted)
    assert [f.to_json() for f in plain] == [f.to_json() for f in mapped]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(near_trusted, table_ports, st.booleans(), STATES), max_size=40),
    st.lists(networks, max_size=6),
)
def test_the_trusted_untrusted_split_agrees_with_the_trust_list(connections, extra_networks):
    trusted = TrustList([*TRUSTED.networks, *extra_networks])
    rows = [LISTEN] + [
        row(f"::ffff:{address}" if mapped and address.version == 4 else str(address), port, state, 40000 + i)
        for i, (address, port, mapped, state) in enumerate(connections)
    ]
    findings = evaluate("PROD", rows, trusted)
    table = {p.port: p for p in DEFAULT_PORTS}

    expected: dict[int, dict[str, int]] = {}
    for address, port, _, state in connections:
        address = canonical(address)
        if port in table and state == "ESTABLISHED" and not (address.is_loopback or address.is_unspecified):
            expected.setdefault(port, {}).setdefault(address.compressed, 0)
            expected[port][address.compressed] += 1
    assert [f.subject for f in findings] == [f"port-{port}" for port in sorted(expected)]
    for finding in findings:
        port = finding.facts["port"]
        seen = {a["address"]: a for a in finding.facts["addresses"]}
        assert {k: v["connections"] for k, v in seen.items()} == expected[port]
        for text, entry in seen.items():
            assert entry["trusted"] == (ipaddress.ip_address(text) in trusted)
        any_untrusted = any(not a["trusted"] for a in seen.values())
        wanted = "critical" if any_untrusted else "warning"
        ceiling = table[port].max_severity
        order = ["info", "warning", "critical"]
        assert finding.severity == order[min(order.index(wanted), order.index(ceiling))]
        # untrusted addresses are listed before trusted ones
        flags = [a["trusted"] for a in finding.facts["addresses"]]
        assert flags == sorted(flags)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(near_trusted, table_ports), max_size=30), st.randoms(use_true_random=False))
def test_the_order_of_rows_does_not_matter(connections, rng: random.Random):
    rows = [LISTEN] + [row(str(a), port, remote_port=40000 + i) for i, (a, port) in enumerate(connections)]
    shuffled = rows[:]
    rng.shuffle(shuffled)
    assert [f.to_json() for f in evaluate("PROD", rows, TRUSTED)] == [
        f.to_json() for f in evaluate("PROD", shuffled, TRUSTED)
    ]


@settings(max_examples=300, deadline=None)
@given(st.one_of(ipv4, ipv6, ipv4.map(lambda a: ipaddress.IPv6Address(f"::ffff:{a}"))))
def test_remote_peer_is_none_exactly_for_local_addresses(address):
    peer = remote_peer(row(str(address)), TRUSTED)
    address = canonical(address)
    if address.is_loopback or address.is_unspecified:
        assert peer is None
    else:
        assert peer is not None and peer.address == address.compressed and peer.trusted == (address in TRUSTED)


# --- the demo's story ----------------------------------------------------------------------------


def test_the_demo_system_tells_the_plaintext_story(tmp_path: Path):
    system = demo_settings(tmp_path / "demo")
    connection = open_system(system)
    try:
        rows = sql.read_tcp_connections(connection)
    finally:
        connection.close()
    findings = by_subject(evaluate(system.name, rows, TrustList(system.trusted)))
    assert set(findings) == {"port-23", "port-446", "port-8471", "port-8476"}

    telnet = findings["port-23"]
    assert telnet.severity == "critical"
    assert telnet.details[:2] == ("Untrusted: 210.107.73.73", "Trusted: 10.1.20.44")
    database = findings["port-8471"]
    assert database.severity == "critical"
    assert database.facts["addresses"] == [{"address": "13.64.12.40", "trusted": False, "connections": 1}]
    assert findings["port-8476"].severity == "warning"  # trusted VPN host on the plaintext sign-on server
    assert findings["port-446"].details[0] == "Trusted: 10.1.20.58"  # IPv4-mapped in NETSTAT
