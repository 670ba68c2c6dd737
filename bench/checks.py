"""Speed of judging remote addresses against the trusted networks, the unknown-connections check's hot path.

The headline `seconds` times only this classifier; `evaluate_seconds` times the whole check on the same
rows, and bench/cycle.py the whole scheduled cycle against a plain script.

Builds --addresses address strings as NETSTAT gives them (IPv4, IPv4-mapped ::ffff:a.b.c.d, IPv6,
a few with a %zone; about half inside some trusted network, some repeated) and --networks trusted
networks (a fifth IPv6, prefixes of many lengths), all from a fixed seed, then measures:

- seconds: best of --repeat runs of `TrustList.untrusted_keys` over all the strings, parsing included
  (the code `unknown_connections.evaluate` runs), taking turns with the floor's runs;
- the naive way, `any(address in network for network in networks)` with `ipaddress` objects, timed on
  --naive-sample strings and extrapolated to all of them, against all --networks and against realistic
  counts (the first 10 and 100 of them), the classifier timed against the same few;
- floor_seconds: only turning every string into an integer with `socket.inet_pton` + `int.from_bytes`;
- reference_seconds: `parse_address` + `is_local` + `in TrustList` (ipaddress objects, binary search),
  which also checks every fast answer;
- evaluate_seconds: the whole `evaluate()` on one NETSTAT row per string;
- peak RSS of the process (read before the Slack part);
- slack_calls_burst / slack_calls_steady: Slack calls for one cycle of --burst-connections unknown
  connections from --burst-addresses addresses through the real alert lifecycle, outbox and delivery
  against the Slack test server, and for the following cycle with nothing changed.

    python bench/checks.py [--addresses 100000] [--networks 10000] [--repeat 15] [--naive-sample 200]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import bisect
import ipaddress
import json
import random
import resource
import socket
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.checks.unknown_connections import evaluate  # noqa: E402
from bot.ibmi.rows import NetstatConnection, parse_address  # noqa: E402
from bot.net import IPV6_KEY_BIT, Network, TrustList, is_local, key_of  # noqa: E402

TARGET_SECONDS = 0.25
TARGET_SPEEDUP = 100
TARGET_RATIO_TO_FLOOR = 5
TARGET_PEAK_RSS_MB = 200


def make_networks(count: int, rng: random.Random) -> list[Network]:
    networks: list[Network] = []
    for _ in range(count):
        if rng.random() < 0.2:
            prefix = rng.randint(16, 128)
            value = 0x2000 << 112 | rng.getrandbits(125)  # global unicast, 2000::/3
            networks.append(ipaddress.IPv6Network((value >> (128 - prefix) << (128 - prefix), prefix)))
        else:
            prefix = rng.choices(range(8, 33), weights=range(1, 26))[0]  # long prefixes commoner than short
            value = rng.getrandbits(32)
            networks.append(ipaddress.IPv4Network((value >> (32 - prefix) << (32 - prefix), prefix)))
    return networks


def make_addresses(count: int, networks: list[Network], rng: random.Random) -> list[str]:
    by_version = {4: [n for n in networks if n.version == 4], 6: [n for n in networks if n.version == 6]}
    texts: list[str] = []
    for _ in range(count):
        if texts and rng.random() < 0.1:  # another connection from an address already seen
            texts.append(rng.choice(texts))
            continue
        kind = rng.random()
        version = 6 if kind >= 0.8 else 4
        bits = 32 if version == 4 else 128
        if rng.random() < 0.5:  # inside a trusted network
            network = rng.choice(by_version[version])
            value = int(network.network_address) | rng.getrandbits(bits - network.prefixlen)
        else:
            value = rng.getrandbits(bits)
        if version == 4:
            text = str(ipaddress.IPv4Address(value))
            texts.append(f"::ffff:{text}" if kind < 0.1 else text)
        elif kind >= 0.995:  # link-local with the interface's zone id
            texts.append(f"{ipaddress.IPv6Address(0xFE80 << 112 | rng.getrandbits(64))}%ETHLINE")
        elif kind >= 0.98:
            texts.append(ipaddress.IPv6Address(value).exploded.upper())
        else:
            texts.append(str(ipaddress.IPv6Address(value)))
    texts[:3] = ["127.0.0.1", "::1", "::ffff:127.0.0.1"]
    return texts


def interleaved_best_of(repeat: int, runs: dict) -> dict[str, tuple[float, object]]:
    """Best time of each run, the runs taking turns so that a busy spell on the machine hits them alike."""
    timings: dict[str, list[float]] = {name: [] for name in runs}
    results = {}
    for _ in range(repeat):
        for name, run in runs.items():
            results[name] = None
            started = time.perf_counter()
            results[name] = run()
            timings[name].append(time.perf_counter() - started)
    return {name: (min(timings[name]), results[name]) for name in runs}


def best_of(repeat: int, run) -> tuple[float, object]:
    timings = []
    for _ in range(repeat):
        result = None  # the last run's result is freed before the next is built
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def floor(texts: list[str]) -> None:
    inet_pton, from_bytes, af_inet, af_inet6 = socket.inet_pton, int.from_bytes, socket.AF_INET, socket.AF_INET6
    for text in texts:
        from_bytes(inet_pton(af_inet6 if ":" in text else af_inet, text))


def reference(texts: list[str], trusted: TrustList) -> dict[str, int]:
    untrusted = {}
    for text in texts:
        address = parse_address(text)
        if address is not None and not is_local(address) and address not in trusted:
            untrusted[text] = key_of(address)
    return untrusted


def naive(texts: list[str], networks: list[Network]) -> list[bool]:
    verdicts = []
    for text in texts:
        address = parse_address(text)
        verdicts.append(
            address is not None and not is_local(address) and not any(address in network for network in networks)
        )
    return verdicts


REALISTIC_NETWORKS = (10, 100)


def speedup_with(count: int, networks: list[Network], texts: list[str], sample: list[str], repeat: int) -> dict:
    """The classifier and the naive loop against the first `count` networks only: their times and the speed-up."""
    few = networks[:count]
    trusted = TrustList(few)
    seconds, _ = best_of(repeat, lambda: trusted.untrusted_keys(texts))
    naive_seconds = best_of(3, lambda: naive(sample, few))[0] * len(texts) / len(sample)
    return {
        "seconds": round(seconds, 4),
        "naive_seconds": round(naive_seconds, 3),
        "speedup": round(naive_seconds / seconds, 1),
    }


def netstat_rows(texts: list[str]) -> list[NetstatConnection]:
    rows = [
        NetstatConnection(
            "IPV4", "0.0.0.0", 0, None, "0.0.0.0", 23, "telnet", "TCP", "LISTEN", Decimal(0), "QTCP", 0, 0
        )
    ]
    for index, text in enumerate(texts):
        rows.append(
            NetstatConnection(
                "IPV6" if ":" in text else "IPV4",
                text,
                40000 + index % 20000,
                None,
                "10.1.1.5",
                (23, 992, 8471, 8476, 446)[index % 5],
                None,
                "TCP",
                "ESTABLISHED",
                Decimal("1.5"),
                "QUSER",
                100,
                200,
            )
        )
    return rows


class FakeClock:
    def __init__(self) -> None:
        self.time = 1_800_000_000.0

    def now(self) -> float:
        return self.time


def slack_calls(connections: int, addresses: int) -> tuple[int, int]:
    """Slack calls for one cycle of `connections` unknown connections from `addresses` addresses (burst), and
    for the next cycle with nothing changed (steady): the real check, alert lifecycle, outbox and delivery,
    against the Slack test server."""
    from bot import __version__
    from bot.alerting.lifecycle import AlertManager
    from bot.config import AlertSettings, Route
    from bot.slack.client import make_web_client
    from bot.slack.delivery import DeliveryWorker
    from storage import open_database, outbox
    from tests.slack_server import SlackTestServer

    rng = random.Random(5)
    sources = [str(ipaddress.IPv4Address(rng.randint(0x0B000000, 0xDF000000))) for _ in range(addresses)]
    rows = netstat_rows([sources[index % addresses] for index in range(connections)])
    rows.append(
        NetstatConnection(
            "IPV4", "0.0.0.0", 0, None, "0.0.0.0", 23, "telnet", "TCP", "LISTEN", Decimal(0), "QTCP", 0, 0
        )
    )
    clock = FakeClock()
    with SlackTestServer(scopes="chat:write,commands") as slack, tempfile.TemporaryDirectory() as folder:
        storage = open_database(Path(folder) / "warden.db", __version__)
        delivery = DeliveryWorker(storage, make_web_client(slack.bot_token, slack.base_url), clock=clock)
        alerts = AlertManager(storage, AlertSettings(), (Route("C0BENCH", "info"),), clock=clock.now)

        def one_cycle() -> int:
            before = len(slack.calls)
            alerts.process("BENCH", "unknown-connections", evaluate("BENCH", rows, [], TrustList()))
            while outbox.pending_count(storage):
                delivery.deliver_due()
                clock.time += 1
            return len(slack.calls) - before

        burst = one_cycle()
        clock.time += 300
        steady = one_cycle()
        storage.close()
    return burst, steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--networks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--burst-connections", type=int, default=5_000)
    parser.add_argument("--burst-addresses", type=int, default=1_000)
    args = parser.parse_args()
    rng = random.Random(20240611)
    networks = make_networks(args.networks, rng)
    texts = make_addresses(args.addresses, networks, rng)
    plain = [text.split("%", 1)[0] for text in texts]  # inet_pton takes no zone id
    trusted = TrustList(networks)

    timed = interleaved_best_of(
        args.repeat, {"fast": lambda: trusted.untrusted_keys(texts), "floor": lambda: floor(plain)}
    )
    seconds, untrusted = timed["fast"]
    floor_seconds = timed["floor"][0]
    reference_seconds, expected = best_of(1, lambda: reference(texts, trusted))
    mismatches = len(set(untrusted.items()) ^ set(expected.items()))

    sample = random.Random(1).sample(texts, min(args.naive_sample, len(texts)))
    naive_sample_seconds, naive_verdicts = best_of(1, lambda: naive(sample, networks))
    mismatches += sum(v != (t in untrusted) for t, v in zip(sample, naive_verdicts, strict=True))
    naive_seconds = naive_sample_seconds * len(texts) / len(sample)
    # Realistic sites trust a handful of networks: against 10 or 100 the naive loop is far cheaper.
    realistic = {count: speedup_with(count, networks, texts, sample, args.repeat) for count in REALISTIC_NETWORKS}

    rows = netstat_rows(texts)
    evaluate_seconds, findings = best_of(3, lambda: evaluate("BENCH", rows, [], trusted))
    ipv4_ranges = bisect.bisect_left(trusted._trusted, IPV6_KEY_BIT) // 2
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the Slack part below
    burst, steady = slack_calls(args.burst_connections, args.burst_addresses)

    result = {
        "addresses": len(texts),
        "distinct_addresses": len(set(texts)),
        "untrusted_addresses": len(untrusted),
        "networks": len(networks),
        "ipv6_networks": sum(n.version == 6 for n in networks),
        "merged_ranges": {4: ipv4_ranges, 6: len(trusted._trusted) // 2 - ipv4_ranges},
        "seconds": round(seconds, 4),
        "naive_sample": len(sample),
        "naive_extrapolated_seconds": round(naive_seconds, 1),
        "speedup_vs_naive": round(naive_seconds / seconds),
        "floor_seconds": round(floor_seconds, 4),
        "ratio_to_floor": round(seconds / floor_seconds, 2),
        "reference_seconds": round(reference_seconds, 3),
        "mismatches": mismatches,
        "evaluate_seconds": round(evaluate_seconds, 3),
        "evaluate_over_classifier": round(evaluate_seconds / seconds, 1),
        **{f"speedup_vs_naive_{count}_networks": realistic[count]["speedup"] for count in REALISTIC_NETWORKS},
        **{f"naive_seconds_{count}_networks": realistic[count]["naive_seconds"] for count in REALISTIC_NETWORKS},
        "findings": len(findings),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "slack_calls_burst": burst,
        "slack_calls_steady": steady,
    }

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(
        f"data: {result['addresses']} address strings ({result['distinct_addresses']} distinct, "
        f"{result['untrusted_addresses']} untrusted), {result['networks']} trusted networks "
        f"({result['ipv6_networks']} IPv6) merged into {result['merged_ranges'][4]} IPv4 and "
        f"{result['merged_ranges'][6]} IPv6 ranges"
    )
    print(
        f"seconds (TrustList.untrusted_keys, best of {args.repeat}, turns with the floor): {result['seconds']} s "
        f"[target <= {TARGET_SECONDS} s: {verdict(seconds <= TARGET_SECONDS)}]"
    )
    print(
        f"naive any(address in network): {result['naive_extrapolated_seconds']} s, extrapolated from "
        f"{len(sample)} addresses timed; speedup {result['speedup_vs_naive']}x "
        f"[target >= {TARGET_SPEEDUP}x: {verdict(naive_seconds / seconds >= TARGET_SPEEDUP)}]"
    )
    for count, figures in realistic.items():
        print(
            f"with {count} trusted networks (a realistic count): classifier {figures['seconds']} s, naive "
            f"{figures['naive_seconds']} s (extrapolated), speedup {figures['speedup']}x [no target]"
        )
    print(
        f"floor (inet_pton + int.from_bytes only, best of {args.repeat}): {result['floor_seconds']} s; "
        f"ratio {result['ratio_to_floor']} [target <= {TARGET_RATIO_TO_FLOOR}: "
        f"{verdict(seconds / floor_seconds <= TARGET_RATIO_TO_FLOOR)}]"
    )
    print(
        f"reference (parse_address + is_local + in TrustList): {result['reference_seconds']} s; "
        f"answers differing from it or from the naive sample: {mismatches} [target 0: {verdict(mismatches == 0)}]"
    )
    print(
        f"evaluate() on {len(rows)} NETSTAT rows (best of 3): {result['evaluate_seconds']} s, "
        f"{result['evaluate_over_classifier']}x the classifier alone, {result['findings']} findings [no target; "
        "the whole cycle is bench/cycle.py]"
    )
    print(
        f"peak RSS: {result['peak_rss_mb']} MB [target <= {TARGET_PEAK_RSS_MB} MB: "
        f"{verdict(peak_rss_mb <= TARGET_PEAK_RSS_MB)}]"
    )
    print(
        f"slack calls for one cycle of {args.burst_connections} unknown connections from {args.burst_addresses} "
        f"addresses: {burst} [target <= 2, one message and its thread: {verdict(burst <= 2)}]; the next cycle "
        f"with nothing changed: {steady} [target 0: {verdict(steady == 0)}]"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
