"""How many messages a second the delivery worker sends in a burst across many channels.

A burst of --per-channel posts to each of --channels channels is enqueued in the outbox, then the real
`DeliveryWorker` (its background thread, the wall clock, Slack's pacing of one call a second per channel)
sends it to the Slack test server, which answers each call after --latency seconds. The rate is the
burst's messages divided by the time from starting the worker to the last answer. The reference is the
same worker with one call at a time (concurrency 1, how delivery worked before channels went
concurrently), measured in the same run, the two interleaved --rounds times.

    python bench/delivery.py [--channels 50] [--per-channel 4] [--latency 0.1] [--rounds 1]

Target: >= 25 messages/s for 50 channels with Slack answering in 100 ms (Slack allows about one a second
per channel, so 50/s is the ceiling). The last line printed is one JSON object: msgs_per_s,
reference_msgs_per_s (one call at a time), ratio, channels, latency_s, messages.
`slack_burst()` is what bench/fleet.py reuses.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot import __version__  # noqa: E402
from bot.slack.client import make_web_client  # noqa: E402
from bot.slack.delivery import DEFAULT_CONCURRENCY, DeliveryWorker  # noqa: E402
from storage import open_database, outbox  # noqa: E402
from tests.slack_server import SlackTestServer  # noqa: E402


def slack_burst(
    channels: int = 50, per_channel: int = 4, latency: float = 0.1, concurrency: int = DEFAULT_CONCURRENCY
) -> float:
    """Messages per second the real DeliveryWorker sends for the burst, Slack answering after `latency` s."""
    total = channels * per_channel
    with tempfile.TemporaryDirectory() as folder, SlackTestServer() as slack:
        slack.set_latency(latency)
        storage = open_database(Path(folder) / "bench.db", __version__)
        try:
            now = time.time()
            with storage.transaction():
                for n in range(per_channel):
                    for channel in range(channels):
                        outbox.enqueue(storage, f"C{channel:04}", outbox.POST, {"text": f"alert {n}"}, now=now)
            worker = DeliveryWorker(storage, make_web_client(slack.bot_token, slack.base_url), concurrency=concurrency)
            started = time.monotonic()
            worker.start()
            try:
                slack.wait_for("chat.postMessage", count=total, timeout=total * (latency + 1) + 30)
                elapsed = time.monotonic() - started
            finally:
                worker.stop()
            sent = len(outbox.items(storage, state="sent"))
            if sent != total:
                raise AssertionError(f"{sent} of {total} messages recorded as sent")
            for channel in range(0, channels, max(channels // 5, 1)):  # order kept within a channel
                texts = [m["text"] for m in slack.messages(f"C{channel:04}")]
                if texts != [f"alert {n}" for n in range(per_channel)]:
                    raise AssertionError(f"channel C{channel:04} got {texts}")
        finally:
            storage.close()
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--per-channel", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    rates, references = [], []
    for _ in range(args.rounds):
        rates.append(slack_burst(args.channels, args.per_channel, args.latency))
        references.append(slack_burst(args.channels, args.per_channel, args.latency, concurrency=1))
        print(f"concurrent: {rates[-1]:.1f} msg/s   one call at a time: {references[-1]:.1f} msg/s")
    rate, reference = statistics.median(rates), statistics.median(references)
    print(
        json.dumps(
            {
                "msgs_per_s": round(rate, 1),
                "reference_msgs_per_s": round(reference, 1),
                "ratio": round(rate / reference, 2),
                "channels": args.channels,
                "latency_s": args.latency,
                "messages": args.channels * args.per_channel,
            }
        )
    )


if __name__ == "__main__":
    main()
