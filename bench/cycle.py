"""The whole scheduled check cycle as the bot runs it, against a plain script running the same SQL.

For each size N (--sizes, default 1,000, 10,000 and 100,000) a demo IBM i is filled with N connections and N
output queues (tests/large_demo.py), then, taking turns, each in a subprocess of its own so that peak memory
figures never mix:

- the bot: `build_bot` on a configuration with that demo system, ten trusted networks and every check
  enabled, owner look-ups stubbed to answer at once; one cycle is every group of checks run as the scheduler
  runs it (`CheckRunner.run_checks`: sources read through the demo driver's DB-API connection, all checks
  judged, runs recorded, alert state saved, outbox filled), then the owner look-ups it started, waited for.
  A second cycle follows with nothing changed on the system. The worker's process runs with the garbage
  collector thresholds `build_bot` sets for the bot (bot/collector.py).
- the reference: an 80-line script that sends the same SQL (the statements of bot/ibmi/sql.py) through the
  same DB-API connection and judges the rows the naive way (`ipaddress` objects, `any(address in network)`),
  keeping no state, with CPython's default collector thresholds, as a plain script has.

Each side's time is the median of --repeat runs (three by default: a machine's speed may swing from one minute
to the next, and one run of each side may fall into different spells). Then `slack_calls_1000_new_addresses`:
one cycle of the bot in which 1,000 new untrusted addresses appear, its outbox delivered to the Slack test
server (owner look-ups answered at once), counted against the alert messages plus their threads.

    python bench/cycle.py [--sizes 1000,10000,100000] [--repeat 3]

`saving_seconds_N` is what the storage layer alone takes to save the first cycle's alerts and their message
links into a fresh database (the same functions the cycle calls), and `saving_floor_ratio_N` the first cycle's
ratio if everything else in it cost exactly what the reference costs: the floor of a first cycle that keeps
each alert's finding, as the alert lifecycle needs.

Targets: ratio_100k <= 1.5, ratio_unchanged_100k <= 1.2, growth_10k_to_100k <= 11,
peak_rss_mb_100k <= 1.5 x reference_peak_rss_mb_100k, slack_calls_1000_new_addresses <= alert messages +
their threads. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.workers import peak_rss_mb, run_worker, taking_turns  # noqa: E402

SYSTEM = "BENCH"
TARGET_RATIO = 1.5
TARGET_RATIO_UNCHANGED = 1.2
TARGET_GROWTH = 11
TARGET_RSS_FACTOR = 1.5


# --------------------------------------------------------------------------------------------------
# The bot's side


def write_config(folder: Path, demo: Path) -> Path:
    """The example configuration, pointed at the large demo, with the ten trusted networks of large_demo."""
    from tests.large_demo import TRUSTED

    text = (REPO / "bot" / "warden.example.toml").read_text()
    text = text.replace('name = "DEMO"', f'name = "{SYSTEM}"', 1)
    text = text.replace('trusted = ["10.0.0.0/8", "192.168.0.0/16"]', f"trusted = {json.dumps(list(TRUSTED))}", 1)
    text = text.replace('path = "demo-ibmi"', f"path = {json.dumps(str(demo))}", 1)
    path = folder / "warden.toml"
    path.write_text(text)
    return path


class InstantTracer:
    """Owner look-ups answered at once, as if every address were in the RDAP cache."""

    def trace(self, address: str) -> Any:
        from datetime import UTC, datetime

        from bot.trace import Owner

        return Owner(address=address, kind="rdap", organisation="Example Hosting", country="US",
                     looked_up_at=datetime.now(UTC))  # fmt: skip

    def prune(self) -> int:
        return 0


def build(
    demo: Path, folder: Path, slack_url: str = "http://127.0.0.1:9/api/", token: str = "xoxb-bench", clock: Any = None
) -> Any:
    from dataclasses import replace

    from bot.config import Secrets, load_config
    from bot.slack.delivery import SYSTEM_CLOCK
    from bot.wiring import build_bot

    config = load_config(write_config(folder, demo))
    config = replace(config, storage=replace(config.storage, path=folder / "warden.db"))
    secrets = Secrets(slack_bot_token=token, slack_api_url=slack_url)
    return build_bot(config, secrets, clock=clock or SYSTEM_CLOCK, tracer=InstantTracer())


def scheduled_cycle(bot: Any) -> None:
    """What the scheduler's jobs do for the system: each group of checks sharing an interval, run together."""
    for checks in bot.checks.check_groups(SYSTEM).values():
        bot.checks.run_checks(SYSTEM, tuple(checks))


def timed_cycle(bot: Any) -> tuple[float, float]:
    """Seconds of the scheduled cycle, then of the owner look-ups it started (on their own pool)."""
    started = time.perf_counter()
    scheduled_cycle(bot)
    cycle = time.perf_counter() - started
    bot.enricher.wait_idle()
    return cycle, time.perf_counter() - started - cycle


_OPEN_UNKNOWN = "SELECT subject FROM alerts WHERE state = 'open' AND check_id = 'unknown-connections'"


def digest(subjects: list[str]) -> str:
    """The untrusted addresses found, as one value both sides can be compared by."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(subjects)).encode()).hexdigest()[:16]


def bot_worker(demo: Path, owner_lookups: bool) -> dict[str, Any]:
    from storage import outbox

    with tempfile.TemporaryDirectory() as folder:
        bot = build(demo, Path(folder))
        if not owner_lookups:
            bot.enricher.enrich = lambda fingerprints: []  # none started: see --owner-lookups-up-to
        try:
            first, owners = timed_cycle(bot)
            pending = outbox.pending_count(bot.storage)
            second, owners_unchanged = timed_cycle(bot)
            with bot.storage.lock:
                alerts = bot.storage.db.execute("SELECT COUNT(*) FROM alerts WHERE state = 'open'").fetchone()[0]
                unknown = [row[0] for row in bot.storage.db.execute(_OPEN_UNKNOWN)]
            figures = {
                "unknown_addresses": digest(unknown),
                "seconds": first,
                "owner_seconds": owners,
                "unchanged_seconds": second,
                "outbox_items": pending,
                "outbox_items_unchanged": outbox.pending_count(bot.storage) - pending,
                "open_alerts": alerts,
                "peak_rss_mb": peak_rss_mb(),
            }
            # After the peak memory was taken: reading the alerts back costs memory the cycle does not use.
            return {**figures, "saving_seconds": saving_seconds(bot.storage)}
        finally:
            bot.enricher.close()
            bot.systems.close()
            bot.storage.close()


def saving_seconds(storage: Any) -> float:
    """Seconds the product's storage layer takes to save what the first cycle stored (its alerts and the
    messages they were posted in) into a fresh database: the part of the first cycle a script that keeps no
    state never pays, and below which the first cycle cannot go while it keeps each alert's finding."""
    from bot import __version__
    from storage import alerts, open_database

    records = alerts.open_alerts(storage)
    with storage.lock:
        rows = storage.db.execute("SELECT fingerprint, channel, message_key FROM alert_messages").fetchall()
    messages = [alerts.AlertMessage(*row) for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        fresh = open_database(Path(folder) / "saving.db", __version__)
        try:
            started = time.perf_counter()
            with fresh.transaction():  # as the lifecycle begins a run: the (empty) alerts of each check, kept
                for system, check in {(record.system, record.check) for record in records}:
                    alerts.check_alerts(fresh, system, check)
            alerts.save_alerts(fresh, [(record, None) for record in records])
            alerts.add_messages(fresh, messages)
            return time.perf_counter() - started
        finally:
            fresh.close()


# --------------------------------------------------------------------------------------------------
# The reference: the same SQL, a naive evaluation, no state


def reference_worker(demo: Path) -> dict[str, Any]:
    import ipaddress

    from bot.ibmi import sql
    from bot.ibmi.drivers.demo import DemoConnection
    from tests.large_demo import TRUSTED

    started = time.perf_counter()
    networks = [ipaddress.ip_network(n) for n in TRUSTED]
    plaintext = {23, 21, 80, 8471, 8476, 446, 449, 2001, 8470, 8472, 8473, 8474, 8475}
    connection = DemoConnection(demo)
    cursor = connection.cursor()

    def rows(statement: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cursor.execute(statement, params)
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    findings: list[tuple[str, str, str]] = []
    netstat = rows(sql.NETSTAT_TCP_CONNECTIONS)
    jobs = {(r["REMOTE_ADDRESS"], r["REMOTE_PORT"]): r for r in rows(sql.NETSTAT_CONNECTION_JOBS)}
    unknown: dict[str, list[dict[str, Any]]] = {}
    by_port: dict[int, set[str]] = {}
    for row in netstat:
        if row["TCP_STATE"] != "ESTABLISHED":
            continue
        address = ipaddress.ip_address(row["REMOTE_ADDRESS"].strip())
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback or address.is_unspecified:
            continue
        trusted = any(address in network for network in networks)
        if not trusted:
            unknown.setdefault(str(address), []).append(
                {**row, "job": jobs.get((row["REMOTE_ADDRESS"], row["REMOTE_PORT"]))}
            )
        if row["LOCAL_PORT"] in plaintext:
            by_port.setdefault(row["LOCAL_PORT"], set()).add(str(address))
    findings += [("unknown-connections", address, f"{len(rows_)} connections") for address, rows_ in unknown.items()]
    findings += [("plaintext-services", f"port-{port}", f"{len(a)} addresses") for port, a in by_port.items()]
    rows(sql.SMTP_LISTENERS)
    rows(sql.SMTP_JOBS)
    columns = rows(sql.SMTP_LIST_COLUMNS)
    for member in rows(sql.SMTP_LIST_MEMBERS) if columns else []:
        rows(sql.smtp_list_alias_statement(member["SYSTEM_TABLE_MEMBER"].strip()))
        for entry in rows(sql.SMTP_LIST_MEMBER_ROWS):
            if " 0.0.0.0" in entry["ADRLST"]:
                findings.append(("smtp-relay", entry["ADRLST"], "broad accept entry"))
    for authority in ("*SPLCTL", "*JOBCTL"):
        pattern = f"%{authority}%"
        holders = rows(sql.SPECIAL_AUTHORITY_USERS, (pattern, pattern))
        rows(sql.SPECIAL_AUTHORITY_GROUP_LINKS, (pattern,))
        if authority == "*SPLCTL":
            findings += [("splctl-exposure", h["AUTHORIZATION_NAME"], "holder") for h in holders
                         if h["STATUS"] != "*DISABLED" and h["AUTHORIZATION_NAME"] != "QSECOFR"]  # fmt: skip
    queues = rows(sql.OUTPUT_QUEUES)
    public = {}
    for statement, params in sql.output_queue_public_authority_statements(queues):
        public.update({(p["SYSTEM_OBJECT_SCHEMA"], p["SYSTEM_OBJECT_NAME"]): p["OBJECT_AUTHORITY"]
                       for p in rows(statement, params)})  # fmt: skip
    for queue in queues:
        key = (queue["OUTPUT_QUEUE_LIBRARY_NAME"], queue["OUTPUT_QUEUE_NAME"])
        authority = public.get(key)
        issues = []
        if queue["OPERATOR_CONTROLLED"] == "*YES":
            issues.append("OPRCTL(*YES)")
        if queue["DISPLAY_ANY_FILE"] == "*YES" and authority in ("*USE", "*CHANGE", "*ALL"):
            issues.append("DSPDTA(*YES)")
        if queue["AUTHORITY_TO_CHECK"] == "*DTAAUT" and authority in ("*CHANGE", "*ALL"):
            issues.append("AUTCHK(*DTAAUT)")
        if issues:
            findings.append(("splctl-exposure", "/".join(key), ", ".join(issues)))
    connection.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "findings": len(findings),
        "unknown_addresses": digest(list(unknown)),
        "peak_rss_mb": peak_rss_mb(),
    }


# --------------------------------------------------------------------------------------------------
# Slack calls for 1,000 new untrusted addresses


class FakeClock:
    """Time for the delivery worker, moved on a second per pass (Slack's pace per channel) instead of waited."""

    def __init__(self) -> None:
        self.time = time.time()

    def now(self) -> float:
        return self.time


def slack_calls_new_addresses(count: int) -> dict[str, int]:
    """One cycle of the bot on a demo where `count` new untrusted addresses appear (and no output queue beyond
    the seeded four), owner look-ups answered at once, its outbox delivered to the Slack test server."""
    from storage import outbox
    from tests.large_demo import fill
    from tests.slack_server import SlackTestServer

    with tempfile.TemporaryDirectory() as folder, SlackTestServer(scopes="chat:write,commands") as slack:
        demo = Path(folder) / "demo"
        fill(demo, count * 20, queues=0)  # one connection in ten untrusted, two connections each
        clock = FakeClock()
        bot = build(demo, Path(folder), slack.base_url, slack.bot_token, clock)
        try:
            scheduled_cycle(bot)
            bot.enricher.wait_idle()
            while outbox.pending_count(bot.storage):
                bot.delivery.deliver_due()
                clock.time += 1
            with bot.storage.lock:
                messages = bot.storage.db.execute("SELECT COUNT(DISTINCT message_key) FROM alert_messages")
                count_messages = messages.fetchone()[0]
            return {"calls": len(slack.calls), "messages": count_messages}
        finally:
            bot.enricher.close()
            bot.systems.close()
            bot.storage.close()


# --------------------------------------------------------------------------------------------------
# The driver


def measure(size: int, repeat: int, owner_lookups: bool) -> dict[str, Any]:
    from tests.large_demo import fill

    with tempfile.TemporaryDirectory() as folder:
        demo = Path(folder) / "demo"
        fill(demo, size)
        arguments = ["--demo", str(demo)] + ([] if owner_lookups else ["--no-owners"])
        runs = taking_turns(repeat, ("bot", "reference"), lambda kind: run_worker(__file__, kind, arguments))
        bots, references = runs["bot"], runs["reference"]
    median = statistics.median
    return {
        "seconds": median(b["seconds"] for b in bots),
        "saving_seconds": median(b["saving_seconds"] for b in bots),
        "unchanged_seconds": median(b["unchanged_seconds"] for b in bots),
        "owner_seconds": median(b["owner_seconds"] for b in bots),
        "reference_seconds": median(r["seconds"] for r in references),
        "peak_rss_mb": max(b["peak_rss_mb"] for b in bots),
        "reference_peak_rss_mb": max(r["peak_rss_mb"] for r in references),
        "open_alerts": bots[0]["open_alerts"],
        "outbox_items": bots[0]["outbox_items"],
        "outbox_items_unchanged": bots[0]["outbox_items_unchanged"],
        "reference_findings": references[0]["findings"],
        "unknown_addresses_match": all(
            run["unknown_addresses"] == bots[0]["unknown_addresses"] for run in bots + references
        ),
    }


def label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated sizes (connections = queues)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side per size (median taken)")
    parser.add_argument("--new-addresses", type=int, default=1000)
    parser.add_argument(
        "--owner-lookups-up-to",
        type=int,
        default=10_000,
        help="largest size whose owner look-ups are started and timed (each look-up re-renders its whole message)",
    )
    parser.add_argument("--worker", choices=("bot", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--no-owners", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--demo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = bot_worker(args.demo, not args.no_owners) if args.worker == "bot" else reference_worker(args.demo)
        print(json.dumps(worker))
        return

    sizes = [int(size) for size in args.sizes.split(",")]
    result: dict[str, Any] = {"sizes": sizes}
    for size in sizes:
        owner_lookups = size <= args.owner_lookups_up_to
        figures = measure(size, args.repeat, owner_lookups)
        name = label(size)
        result[f"seconds_{name}"] = round(figures["seconds"], 3)
        result[f"reference_seconds_{name}"] = round(figures["reference_seconds"], 3)
        result[f"ratio_{name}"] = round(figures["seconds"] / figures["reference_seconds"], 2)
        result[f"saving_seconds_{name}"] = round(figures["saving_seconds"], 3)
        result[f"saving_floor_ratio_{name}"] = round(
            (figures["reference_seconds"] + figures["saving_seconds"]) / figures["reference_seconds"], 2
        )
        result[f"unchanged_seconds_{name}"] = round(figures["unchanged_seconds"], 3)
        result[f"owner_lookup_seconds_{name}"] = round(figures["owner_seconds"], 3) if owner_lookups else None
        result[f"ratio_unchanged_{name}"] = round(figures["unchanged_seconds"] / figures["reference_seconds"], 2)
        result[f"peak_rss_mb_{name}"] = round(figures["peak_rss_mb"], 1)
        result[f"reference_peak_rss_mb_{name}"] = round(figures["reference_peak_rss_mb"], 1)
        result[f"open_alerts_{name}"] = figures["open_alerts"]
        result[f"reference_findings_{name}"] = figures["reference_findings"]
        result[f"outbox_items_{name}"] = figures["outbox_items"]
        result[f"outbox_items_unchanged_{name}"] = figures["outbox_items_unchanged"]
        result[f"unknown_addresses_match_{name}"] = figures["unknown_addresses_match"]
        print(
            f"{size:>7} connections and output queues: bot {figures['seconds']:.3f} s "
            f"(unchanged {figures['unchanged_seconds']:.3f} s; then owner look-ups {figures['owner_seconds']:.3f} s), "
            f"reference {figures['reference_seconds']:.3f} s, "
            f"ratio {result[f'ratio_{name}']} (unchanged {result[f'ratio_unchanged_{name}']}); saving the first "
            f"cycle's alerts alone {figures['saving_seconds']:.3f} s, so a first cycle whose rest cost what the "
            f"reference costs would be at {result[f'saving_floor_ratio_{name}']}; peak RSS "
            f"{figures['peak_rss_mb']:.0f} MB vs {figures['reference_peak_rss_mb']:.0f} MB; "
            f"{figures['open_alerts']} open alerts, {figures['outbox_items']} outbox items "
            f"({figures['outbox_items_unchanged']} in the unchanged cycle); untrusted addresses found "
            f"{'the same as' if figures['unknown_addresses_match'] else 'DIFFERENT from'} the reference's",
            flush=True,
        )
    if 10_000 in sizes and 100_000 in sizes:
        result["growth_10k_to_100k"] = round(result["seconds_100k"] / result["seconds_10k"], 2)
    if args.new_addresses:
        slack = slack_calls_new_addresses(args.new_addresses)
        result[f"slack_calls_{args.new_addresses}_new_addresses"] = slack["calls"]
        result[f"alert_messages_{args.new_addresses}_new_addresses"] = slack["messages"]
        print(
            f"{args.new_addresses} new untrusted addresses: {slack['calls']} Slack calls for "
            f"{slack['messages']} alert messages [target <= the messages plus their threads, "
            f"{2 * slack['messages']}: {'ok' if slack['calls'] <= 2 * slack['messages'] else 'MISSED'}]"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
