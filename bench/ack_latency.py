"""How long Slack waits for the bot's ack while slow IBM i work is in flight.

Starts the real app in HTTP mode (waitress) against the Slack test server, with the demo IBM i
answering every statement after --latency seconds. It sends --slow `/ibmi netstat` commands (each
holds a lazy listener for the latency), and meanwhile --concurrent signed `/ibmi help` commands at
once. Prints the ack latencies of both kinds and when the netstat answers reached response_url.
The last line is one JSON object.

    python bench/ack_latency.py [--latency 2] [--slow 6] [--concurrent 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.slack_server import SlackTestServer  # noqa: E402
from tests.test_slack_e2e import BOT_SCOPES, Bot  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(values) * 1000, 1), "p95_ms": round(percentile(values, 0.95) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="demo seconds per statement")
    parser.add_argument("--slow", type=int, default=6, help="netstat commands in flight")
    parser.add_argument("--concurrent", type=int, default=20, help="help commands sent at once")
    args = parser.parse_args()
    with SlackTestServer(scopes=BOT_SCOPES) as slack, tempfile.TemporaryDirectory() as folder:
        bot = Bot(slack, Path(folder), http=True, latency=args.latency)
        try:
            bot.command(slack, "help")  # warm-up: first request builds Bolt's caches
            started = time.time()  # response_url calls are stamped with wall-clock time
            with ThreadPoolExecutor(max_workers=args.slow + args.concurrent) as pool:
                slow = [pool.submit(bot.command, slack, "netstat") for _ in range(args.slow)]
                time.sleep(0.3)
                fast = [pool.submit(bot.command, slack, "help") for _ in range(args.concurrent)]
                fast_results = [f.result() for f in fast]
                slow_results = [f.result() for f in slow]
            answers = slack.wait_for_response(count=args.slow, timeout=args.slow * args.latency * 3 + 30)
            answered = sorted(a.at for a in answers)
        finally:
            bot.stop()
    statuses = [r[0] for r in fast_results + slow_results]
    help_acks = [r[2] for r in fast_results]
    netstat_acks = [r[2] for r in slow_results]
    result = {
        "latency_s": args.latency,
        "help_acks": summary(help_acks),
        "netstat_acks": summary(netstat_acks),
        "all_200": all(s == 200 for s in statuses),
        "netstat_answers_after_s": [round(t - started, 2) for t in answered],
    }
    print(f"help ack (while {args.slow} netstat in flight), {args.concurrent} at once: {result['help_acks']}")
    print(f"netstat ack with demo latency {args.latency}s: {result['netstat_acks']}")
    print(f"netstat answers via response_url after (s): {result['netstat_answers_after_s']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
