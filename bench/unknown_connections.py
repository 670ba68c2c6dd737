"""Time and memory of the unknown-connections check on a large NETSTAT result.

Builds --rows established connections (a mix of IPv4, IPv6 and IPv4-mapped addresses, about a
tenth untrusted) and --networks trusted networks, then times `unknown_connections.evaluate` (the
pure check, no I/O) over --repeat runs and measures its peak allocation with tracemalloc.
The last line is one JSON object.

    python bench/unknown_connections.py [--rows 100000] [--networks 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.checks.unknown_connections import evaluate  # noqa: E402
from bot.ibmi.rows import NetstatConnection  # noqa: E402
from bot.net import TrustList  # noqa: E402


def make_rows(count: int, rng: random.Random) -> list[NetstatConnection]:
    rows = [
        NetstatConnection(
            "IPV4", "0.0.0.0", 0, None, "0.0.0.0", 23, "telnet", "TCP", "LISTEN", Decimal(0), "QTCP", 0, 0
        )
    ]
    for index in range(count):
        kind = rng.random()
        if kind < 0.1:
            remote = str(ipaddress.IPv4Address(rng.randint(0x0B000000, 0xDF000000)))  # mostly untrusted public
        elif kind < 0.15:
            remote = f"::ffff:10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        elif kind < 0.2:
            remote = str(ipaddress.IPv6Address(0x20010DB8 << 96 | rng.getrandbits(64)))
        else:
            remote = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        rows.append(
            NetstatConnection(
                "IPV6" if ":" in remote else "IPV4",
                remote,
                40000 + index % 20000,
                None,
                "10.1.1.5",
                rng.choice((23, 992, 8471, 8476, 446)),
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


def make_networks(count: int, rng: random.Random) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
    ]
    while len(networks) < count:
        prefix = rng.randint(16, 32)
        networks.append(ipaddress.ip_network(f"{ipaddress.IPv4Address(rng.getrandbits(32))}/{prefix}", strict=False))
    return networks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--networks", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    rows = make_rows(args.rows, rng)
    trusted = TrustList(make_networks(args.networks, rng))
    timings = []
    findings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        findings = evaluate("BENCH", rows, [], trusted)
        timings.append(time.perf_counter() - started)
    tracemalloc.start()
    evaluate("BENCH", rows, [], trusted)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {
        "rows": args.rows,
        "networks": args.networks,
        "findings": len(findings),
        "best_s": round(min(timings), 3),
        "median_s": round(sorted(timings)[len(timings) // 2], 3),
        "peak_mib": round(peak / 2**20, 1),
    }
    print(
        f"evaluate() on {args.rows} rows against {args.networks} trusted networks: "
        f"best {result['best_s']}s, median {result['median_s']}s, peak {result['peak_mib']} MiB, "
        f"{len(findings)} findings"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
