"""The fast address path (inet_pton, integer keys, merged bounds) gives exactly the ipaddress answers."""

from __future__ import annotations

import ipaddress
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.checks.unknown_connections import evaluate
from bot.ibmi.rows import NetstatConnection, parse_address
from bot.net import IPV6_KEY_BIT, TrustList, address_from_key, address_key, is_local, key_of, trust

EXAMPLES = settings(max_examples=500, deadline=None)


def reference_key(text):
    """What the fast path must equal: parse_address, as (version, integer)."""
    address = parse_address(text)
    return None if address is None else (address.version, int(address))


def reference_untrusted(text, networks):
    address = parse_address(text)
    if address is None or is_local(address) or any(address in network for network in networks):
        return None
    return (address.version, int(address))


def as_pair(key):
    if key is None:
        return None
    address = address_from_key(key)
    return (address.version, int(address))


# Address text as NETSTAT may give it, and text that only looks like it.
ipv4_int = st.integers(0, 2**32 - 1)
ipv6_int = st.integers(0, 2**128 - 1)
ipv4_text = ipv4_int.map(lambda v: str(ipaddress.IPv4Address(v)))
ipv6_text = st.tuples(ipv6_int.map(ipaddress.IPv6Address), st.sampled_from(("compressed", "exploded", "upper"))).map(
    lambda t: t[0].exploded.upper() if t[1] == "upper" else getattr(t[0], t[1])
)
mapped_text = st.one_of(
    ipv4_text.map(lambda t: f"::ffff:{t}"),
    ipv4_text.map(lambda t: f"::FFFF:{t}"),
    ipv4_text.map(lambda t: f"0:0:0:0:0:ffff:{t}"),
    ipv4_int.map(lambda v: ipaddress.IPv6Address(0xFFFF << 32 | v).compressed),  # ::ffff:102:304
    ipv4_text.map(lambda t: f"::{t}"),  # IPv4-compatible: not mapped, stays IPv6
)
special_text = st.sampled_from(
    (
        "127.0.0.1",
        "127.255.255.255",
        "128.0.0.0",
        "0.0.0.0",
        "0.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::2",
        "::ffff:127.0.0.1",
        "::ffff:0.0.0.0",
        "::ffff:0:0",
        "::ffff:7f00:1",
        "::fffe:7f00:1",
        "::1:ffff:7f00:1",
    )
)
octets = st.lists(st.text("0123456789", max_size=4), min_size=1, max_size=5).map(".".join)  # leading zeros, 256, …
hextets = st.lists(st.text("0123456789abcdefABCDEF", max_size=5), max_size=10)
ipv6_like = st.tuples(hextets, st.none() | octets).map(lambda t: ":".join(t[0] + ([t[1]] if t[1] else [])))
plain_text = st.one_of(ipv4_text, ipv6_text, mapped_text, special_text)
decorated = st.tuples(
    st.sampled_from(("", " ", "\t", "\u3000", "[", "[[", " [")),
    plain_text | octets | ipv6_like,
    st.sampled_from(("", "%", "%eth0", "%ETHLINE", "%1", "%\u00e9", "%%", "%:1")),
    st.sampled_from(("", " ", "\n", "]", "]]", "\u2003")),
).map("".join)
unicode_digits = plain_text.map(
    lambda t: t.translate(str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"))
) | plain_text.map(lambda t: t.translate(str.maketrans("0123456789", "０１２３４５６７８９")))
junk = st.text(max_size=45) | st.text("0123456789abcdefABCDEF:.%[] x", max_size=45)
address_text = st.one_of(plain_text, octets, ipv6_like, decorated, unicode_digits, junk)

networks = st.one_of(
    st.tuples(ipv4_int, st.integers(0, 32)).map(lambda t: ipaddress.ip_network(t, strict=False)),
    st.tuples(ipv6_int, st.integers(0, 128)).map(lambda t: ipaddress.ip_network(t, strict=False)),
    st.sampled_from(
        (
            "0.0.0.0/0",
            "::/0",
            "::ffff:0:0/96",
            "127.0.0.0/8",
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.0/8",
            "255.255.255.255/32",
            "::/128",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        )
    ).map(ipaddress.ip_network),
)


@EXAMPLES
@given(address_text)
@example("010.1.1.1")
@example("::ffff:010.1.1.1")
@example("1:2:3:4:5:6:7:1.2.3.4")
@example("\u0661.2.3.4")
@example("1.2.3.4\x00")
@example(" [fe80::1%eth0] ")
def test_address_key_is_parse_address(text):
    assert as_pair(address_key(text)) == reference_key(text)


@EXAMPLES
@given(plain_text | octets | ipv6_like)
def test_address_key_is_parse_address_on_address_like_text(text):
    assert as_pair(address_key(text)) == reference_key(text)


@EXAMPLES
@given(st.lists(address_text | st.none(), max_size=20))
def test_with_no_trusted_network_every_address_but_local_is_untrusted(texts):
    untrusted = TrustList().untrusted_keys(texts + texts[:3])  # repeated texts are read once
    assert {text: as_pair(key) for text, key in untrusted.items()} == {
        text: pair for text in texts if (pair := reference_untrusted(text, [])) is not None
    }


@EXAMPLES
@given(st.lists(networks, max_size=25), st.lists(address_text, max_size=10), st.data())
def test_untrusted_keys_agree_with_ipaddress_and_a_plain_scan(trusted, texts, data):
    # Addresses on and next to the networks' edges, where an off-by-one would show.
    for network in trusted[:5]:
        edge = data.draw(st.sampled_from((network.network_address, network.broadcast_address)))
        for delta in (-1, 0, 1):
            if 0 <= int(edge) + delta < 2**edge.max_prefixlen:
                texts.append(str(edge + delta))
                if edge.version == 4:
                    texts.append(f"::ffff:{edge + delta}")
    trust_list = TrustList(trusted)
    untrusted = trust_list.untrusted_keys(texts)
    assert {text: as_pair(key) for text, key in untrusted.items()} == {
        text: pair for text in texts if (pair := reference_untrusted(text, trusted)) is not None
    }
    for text in texts[:5]:
        assert as_pair(trust_list.untrusted_key(text)) == reference_untrusted(text, trusted)
        address = parse_address(text)
        if address is not None:
            assert (address in trust_list) == any(address in network for network in trusted)


@EXAMPLES
@given(st.lists(networks, max_size=25), st.lists(address_text | st.none(), max_size=10))
def test_remote_keys_agree_with_parse_address_is_local_and_in(trusted, texts):
    expected = {}
    for text in texts:
        address = parse_address(text)
        if text is not None and address is not None and not is_local(address):
            expected[text] = ((address.version, int(address)), any(address in network for network in trusted))
    remote = TrustList(trusted).remote_keys(texts + texts[:3])  # repeated texts are read once
    assert {text: (as_pair(key), inside) for text, (key, inside) in remote.items()} == expected


@EXAMPLES
@given(st.lists(networks, max_size=25), ipv4_int.map(ipaddress.IPv4Address) | ipv6_int.map(ipaddress.IPv6Address))
def test_membership_of_address_objects_is_a_plain_scan(trusted, address):
    trust_list = TrustList(trusted)
    expected = any(address in network for network in trusted)
    assert (address in trust_list) == trust_list.contains_key(key_of(address)) == expected


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(address_text, special_text, ipv4_text), max_size=25))
def test_evaluate_gives_the_findings_of_parse_address_is_local_and_in(texts):
    trusted = TrustList([ipaddress.ip_network(n) for n in ("10.0.0.0/8", "2001:db8::/32", "::ffff:0:0/96")])
    listen = row("0.0.0.0", state="LISTEN")
    connections = [listen] + [row(text, remote_port=40000 + i) for i, text in enumerate(texts)]
    expected: dict = {}
    for connection in connections[1:]:
        address = parse_address(connection.remote_address)
        if address is not None and not is_local(address) and address not in trusted:
            expected.setdefault(address, []).append(connection.remote_port)
    findings = evaluate("PROD", connections, [], trusted)
    in_order = sorted(expected.items(), key=lambda item: (item[0].version, item[0]))
    assert [(f.subject, [c["remote_port"] for c in f.facts["connections"]]) for f in findings] == [
        (address.compressed, sorted(ports)) for address, ports in in_order
    ]


def row(remote: str, state: str = "ESTABLISHED", remote_port: int = 40000) -> NetstatConnection:
    return NetstatConnection(
        "IPV4", remote, remote_port, None, "10.1.1.5", 23, None, "TCP", state, Decimal(1), "QTCP", 0, 0
    )


def test_keys_keep_the_families_apart_and_sort_like_addresses():
    assert address_key("0.0.0.1") == 1 and address_key("::1") == IPV6_KEY_BIT | 1
    assert address_key("255.255.255.255") < address_key("::")
    assert address_key("::ffff:1.2.3.4") == address_key("1.2.3.4") == key_of(ipaddress.IPv4Address("1.2.3.4"))
    assert key_of(ipaddress.IPv6Address("::ffff:1.2.3.4")) != address_key("1.2.3.4")  # objects are not unwrapped
    assert address_key(None) is None and address_key("") is None and address_key("fe80::1%") is not None


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_the_text_of_a_key_is_the_compressed_address(address):
    assert trust.address_text(key_of(address)) == address.compressed


def test_the_c_library_agrees_here_so_the_fast_path_is_what_these_tests_exercise():
    assert trust._inet_pton_agrees


def test_without_the_fast_path_the_answers_are_the_same(monkeypatch):
    texts = ["10.1.1.1", "::ffff:10.1.1.1", "2001:db8::1", "fe80::1%eth0", "010.1.1.1", " 1.2.3.4", "x", "::"]
    trust_list = TrustList([ipaddress.ip_network("10.0.0.0/8")])
    fast = trust_list.untrusted_keys(texts), [address_key(text) for text in texts]
    monkeypatch.setattr(trust, "_inet_pton_agrees", False)
    assert (trust_list.untrusted_keys(texts), [address_key(text) for text in texts]) == fast
    assert trust._inet_pton_reads_like_ipaddress()  # parse_address agrees with itself


def test_an_empty_list_trusts_nothing_but_local_is_never_untrusted():
    empty = TrustList()
    for text in ("127.0.0.1", "127.255.255.255", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1", "::ffff:0.0.0.0"):
        assert empty.untrusted_key(text) is None, text
    for text in ("128.0.0.0", "126.255.255.255", "0.0.0.1", "::2", "::ffff:1.2.3.4", "::127.0.0.1"):
        assert empty.untrusted_key(text) == address_key(text), text
    assert ipaddress.ip_address("127.0.0.1") not in empty


@pytest.mark.parametrize(
    ("network", "inside", "outside"),
    [
        ("0.0.0.0/0", ["1.2.3.4", "255.255.255.255", "::ffff:1.2.3.4"], ["2001:db8::1", "::1.2.3.4", "::2"]),
        (
            "::/0",
            ["2001:db8::1", "::2", "::1.2.3.4", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
            ["1.2.3.4", "::ffff:1.2.3.4"],
        ),  # a mapped address is judged as IPv4
        ("::ffff:0:0/96", [], ["::ffff:1.2.3.4", "1.2.3.4"]),
        ("198.51.100.7/32", ["198.51.100.7", "::ffff:198.51.100.7"], ["198.51.100.6", "198.51.100.8"]),
        (
            "2001:db8::7/128",
            ["2001:db8::7", "2001:DB8:0:0:0:0:0:7", "2001:db8::7%eth0"],
            ["2001:db8::6", "2001:db8::8"],
        ),
        ("255.255.255.255/32", ["255.255.255.255"], ["255.255.255.254", "::"]),
    ],
)
def test_edges(network, inside, outside):
    trust_list = TrustList([ipaddress.ip_network(network)])
    for text in inside:
        assert trust_list.untrusted_key(text) is None, text
    for text in outside:
        assert trust_list.untrusted_key(text) == reference_untrusted_key(text), text


def reference_untrusted_key(text):
    address = parse_address(text)
    return None if address is None or is_local(address) else key_of(address)


def test_adjacent_and_overlapping_networks_merge_into_one_range():
    halves = TrustList([ipaddress.ip_network("10.0.0.128/25"), ipaddress.ip_network("10.0.0.0/25")])
    whole = TrustList([ipaddress.ip_network("10.0.0.0/24")])
    assert halves._trusted == whole._trusted and len(whole._trusted) == 2
    nested = TrustList([ipaddress.ip_network(n) for n in ("10.1.0.0/16", "10.0.0.0/8", "10.200.3.0/24", "11.0.0.0/8")])
    assert nested._trusted == TrustList([ipaddress.ip_network("10.0.0.0/7")])._trusted
    assert nested.untrusted_key("9.255.255.255") is not None and nested.untrusted_key("12.0.0.0") is not None
    assert nested.untrusted_key("10.0.0.0") is None and nested.untrusted_key("11.255.255.255") is None
    mixed = TrustList(
        [ipaddress.ip_network(n) for n in ("10.0.0.0/25", "10.0.0.129/32", "2001:db8::/127", "2001:db8::2/127")]
    )
    assert len(mixed._trusted) == 6  # the IPv6 pair is adjacent
    assert mixed.untrusted_key("10.0.0.128") is not None and mixed.untrusted_key("2001:db8::3") is None
