"""A fleet under load, through the bot's own schedule, lanes and CheckRunner.

- the fleet: --systems demo IBM i systems answering every statement after --latency seconds, --hung of them
  hung (every statement blocks until the bot abandons it, at the default deadline: query_timeout + 5 s),
  every check every --interval seconds, for --seconds. The bot is the real one (`build_bot`: storage, the
  alert lifecycle, the outbox; owners are not looked up) and its checks are run by the real
  `CheckSchedule` into the real `Lanes` ([scheduler] max_parallel_systems = --parallel), as `run` does.
  Meanwhile `/ibmi netstat` on a healthy system goes the way the handlers send it: into its lane
  (`Work.submit_for`) and `Systems.netstat`, one after another; its time from submission to answer.
- figures: runs_due (every due time of a healthy system's checks in the window), runs_done (healthy runs
  that ended), runs_dropped (due times no run started at or after: target 0; merged runs are not dropped),
  cycle_seconds (from the first due time until every healthy system's first run ended) against
  ideal_seconds (the work in that time — each healthy system's first run plus what the hung systems held —
  divided by --parallel; target ratio <= 1.5), netstat_p99_ms (target <= 1000), peak_rss_mb after the
  fleet (target <= 300), stop_seconds (Bot.close with the hung systems still hung; target <= 10).
- Slack: a burst of --burst messages over 50 channels, queued in the outbox and sent by the product's
  `DeliveryWorker` to the Slack test server answering every call after 100 ms: slack_msgs_per_s
  (target >= 25).

    python bench/fleet.py [--systems 200] [--hung 10] [--seconds 60] [--latency 0.05] [--interval 10]
                          [--parallel 32]

The last line printed is one JSON object with those figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import __version__  # noqa: E402
from bot.checks import registry  # noqa: E402
from bot.config import Config, DemoSettings, SchedulerSettings, Secrets, load_config  # noqa: E402
from bot.ibmi_settings import open_system  # noqa: E402
from bot.runtime import start_check_schedule  # noqa: E402
from bot.slack.client import make_web_client  # noqa: E402
from bot.slack.delivery import DeliveryWorker  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from storage import open_database, outbox  # noqa: E402
from tests.slack_server import SlackTestServer  # noqa: E402

SLACK_LATENCY = 0.1
CHANNELS = 50


class OfflineTracer:
    """Owners are not looked up here: the benchmark never reaches the network."""

    def trace(self, address: str) -> Any:
        from bot.trace import TraceError

        raise TraceError("unavailable", "not looked up in the benchmark")

    def prune(self) -> int:
        return 0


@dataclass
class Record:
    """What the fleet did: due times put in the lanes, and each run's (start, end, lateness)."""

    dues: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    runs: dict[tuple[str, str], list[tuple[float, float, float]]] = field(default_factory=lambda: defaultdict(list))
    guard: threading.Lock = field(default_factory=threading.Lock)


def fleet_config(folder: Path, args: argparse.Namespace) -> Config:
    config = load_config(REPO / "bot" / "warden.example.toml", env={})
    [example] = config.systems
    systems = []
    for i in range(args.systems):
        hung = i < args.hung
        demo = DemoSettings(path=folder / f"demo-{i}", latency=0.0 if hung else args.latency, hang=hung)
        systems.append(replace(example, name=f"{'HUNG' if hung else 'S'}{i:03d}", demo=demo))
    every = {check: replace(config.check(check), interval=args.interval) for check in registry.check_ids()}
    return replace(
        config,
        systems=tuple(systems),
        checks=every,
        storage=replace(config.storage, path=folder / "warden.db"),
        scheduler=SchedulerSettings(max_parallel_systems=args.parallel, max_waiting=5),
    )


def seed(config: Config) -> None:
    """Create every demo's files first (hung ones too, seeded as if healthy), outside the measurement."""
    for system in config.systems:
        assert system.demo is not None
        connection = open_system(replace(system, demo=replace(system.demo, hang=False, latency=0.0)))
        connection.query("SELECT COUNT(*) AS N FROM QSYS2.NETSTAT_INFO")
        connection.close()


def watch(bot: Any, record: Record) -> None:
    """Note every due time the schedule hands to the lanes and every run the lanes start."""
    schedule, run_checks = bot.lanes.schedule, bot.checks.run_checks

    def noted_schedule(system: str, key: str, due: float, run: Callable[[float], None]) -> bool:
        with record.guard:
            record.dues[system, key].append(due)
        return schedule(system, key, due, run)

    def noted_run(system: str, checks: Sequence[str], lateness: float | None = None) -> Any:
        started = time.time()
        try:
            return run_checks(system, checks, lateness=lateness)
        finally:
            with record.guard:
                record.runs[system, "+".join(checks)].append((started, time.time(), lateness or 0.0))

    bot.lanes.schedule = noted_schedule
    bot.checks.run_checks = noted_run


def netstat_times(bot: Any, system: str, stop: threading.Event) -> list[float]:
    """/ibmi netstat on `system` the handlers' way, one after another until `stop`: seconds each."""
    times: list[float] = []
    while not stop.is_set():
        answered = threading.Event()
        submitted = time.monotonic()
        bot.work.submit_for(system, "netstat", lambda done=answered: (bot.systems.netstat(system), done.set()))
        answered.wait()
        times.append(time.monotonic() - submitted)
        stop.wait(0.5)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)] if ordered else float("nan")


def fleet_figures(record: Record, hung: set[str], parallel: int, end: float) -> dict[str, Any]:
    healthy = {key for key in record.dues if key[0] not in hung}
    dues = [(key, due) for key in healthy for due in record.dues[key] if due <= end]
    starts = {key: sorted(start for start, _, _ in record.runs[key]) for key in record.runs}
    dropped = sum(1 for key, due in dues if not any(start >= due for start in starts.get(key, ())))
    done = sum(len(record.runs[key]) for key in healthy)
    first_due = min(due for due_list in record.dues.values() for due in due_list)
    firsts = [min(record.runs[key], key=lambda run: run[0]) for key in healthy if record.runs[key]]
    cycle_end = max(end_ for _, end_, _ in firsts) if len(firsts) == len(healthy) else float("nan")
    held = sum(
        max(0.0, min(end_, cycle_end) - max(start, first_due))
        for key, runs in record.runs.items()
        if key[0] in hung
        for start, end_, _ in runs
    )
    work = sum(end_ - start for start, end_, _ in firsts) + held
    cycle, ideal = cycle_end - first_due, work / parallel
    lateness = [late for key in healthy for _, _, late in record.runs[key]]
    return {
        "runs_due": len(dues),
        "runs_done": done,
        "runs_dropped": dropped,
        "cycle_seconds": round(cycle, 2),
        "ideal_seconds": round(ideal, 2),
        "cycle_ratio": round(cycle / ideal, 3) if ideal else None,
        "lateness_p50_s": round(percentile(lateness, 0.5), 2),
        "lateness_max_s": round(max(lateness, default=0.0), 2),
    }


def run_fleet(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    config = fleet_config(folder, args)
    seed(config)
    hung = {s.name for s in config.systems if s.demo and s.demo.hang}
    logging.getLogger("bot").setLevel(logging.ERROR)  # a hung system's warnings every run are expected here
    bot = build_bot(config, Secrets(slack_bot_token="xoxb-bench"), tracer=OfflineTracer())  # type: ignore[arg-type]
    record = Record()
    watch(bot, record)
    healthy_system = next(s.name for s in config.systems if s.name not in hung)
    stop_netstat = threading.Event()
    netstats: list[float] = []
    schedule = start_check_schedule(bot)
    started = time.time()
    reader = threading.Thread(target=lambda: netstats.extend(netstat_times(bot, healthy_system, stop_netstat)))
    reader.start()
    time.sleep(args.seconds)
    schedule.stop()
    end = time.time()
    stop_netstat.set()
    reader.join()
    drain_until = time.monotonic() + 4 * args.interval  # let the healthy runs already due finish
    while time.monotonic() < drain_until and any(bot.lanes.waiting(s) for s in bot.systems.names() if s not in hung):
        time.sleep(0.2)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stopping = time.monotonic()
    bot.close()
    stop_seconds = time.monotonic() - stopping
    figures = fleet_figures(record, hung, args.parallel, end)
    figures.update(
        {
            "seconds": round(end - started, 1),
            "systems": args.systems,
            "hung": args.hung,
            "parallel": args.parallel,
            "netstat_p50_ms": round(percentile(netstats, 0.5) * 1000, 1),
            "netstat_p99_ms": round(percentile(netstats, 0.99) * 1000, 1),
            "netstats": len(netstats),
            "peak_rss_mb": round(rss_mb, 1),
            "stop_seconds": round(stop_seconds, 2),
        }
    )
    return figures


class SlowSlack(SlackTestServer):
    """The Slack test server answering every Web API call after `latency` seconds."""

    latency = SLACK_LATENCY

    def _handle_api(self, handler: Any, method: str, raw: bytes) -> None:
        time.sleep(self.latency)
        super()._handle_api(handler, method, raw)


def slack_burst(folder: Path, messages: int) -> dict[str, Any]:
    storage = open_database(folder / "burst.db", __version__)
    with SlowSlack(scopes="chat:write") as slack:
        channels = [f"C{i:08d}" for i in range(CHANNELS)]
        now = time.time()
        for i in range(messages):
            outbox.enqueue(storage, channels[i % CHANNELS], "chat.postMessage", {"text": f"alert {i}"}, now=now)
        worker = DeliveryWorker(storage, make_web_client(slack.bot_token, slack.base_url))
        started = time.monotonic()
        worker.start()
        slack.wait_for("chat.postMessage", count=messages, timeout=600)
        elapsed = time.monotonic() - started
        worker.stop()
    storage.close()
    return {"slack_msgs_per_s": round(messages / elapsed, 1), "slack_burst_messages": messages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--systems", type=int, default=200)
    parser.add_argument("--hung", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per statement on a healthy system")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between runs of every check")
    parser.add_argument("--parallel", type=int, default=32, help="[scheduler] max_parallel_systems")
    parser.add_argument("--burst", type=int, default=150, help="messages in the Slack burst (over 50 channels)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="fleet-") as folder:
        figures = run_fleet(args, Path(folder))
        figures.update(slack_burst(Path(folder), args.burst))
    targets = {
        "runs_dropped": figures["runs_dropped"] == 0,
        "cycle_ratio": figures["cycle_ratio"] is not None and figures["cycle_ratio"] <= 1.5,
        "netstat_p99_ms": figures["netstat_p99_ms"] <= 1000,
        "peak_rss_mb": figures["peak_rss_mb"] <= 300,
        "stop_seconds": figures["stop_seconds"] <= 10,
        "slack_msgs_per_s": figures["slack_msgs_per_s"] >= 25,
    }
    for name, value in figures.items():
        mark = "" if name not in targets else ("  (target met)" if targets[name] else "  (TARGET MISSED)")
        print(f"{name:>22}: {value}{mark}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
