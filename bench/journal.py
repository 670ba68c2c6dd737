"""Reading and judging a large audit journal backlog, against merely fetching the same rows.

A demo IBM i is filled with N audit journal entries (PW, CP, CD and AF, at the same density for every N: a million
entries a week by default, --days-per-million; tests/large_demo.py `fill_journal`), and the bot's reading position
of each entry type is set to the oldest entry, as if the bot had been down since. Then, taking turns, each in a
subprocess of its own so that peak memory figures never mix:

- the bot: `build_bot` on a configuration with only the four audit journal checks, each reading at most --batch
  entries a cycle; cycles as `ibmi-warden check` runs them (`CheckRunner.run_checks`: the journal sources read
  through the demo's DB-API connection, positions and windows kept in the bot's database, every check judged, the
  runs recorded; nothing posted) until the positions stop moving, i.e. the backlog is caught up;
- the floor: the same statements (`entries_statement`, each batch starting at the last timestamp of the one before,
  as the bot's reads do) through the same demo DB-API cursor, fetching the rows and nothing else. Apart from it, the
  same worker times making the bot's entries of each batch (`audit_journal._entries`, what every read of the bot
  does first): `converting_seconds`, not part of the floor, telling how much of the bot's time goes before any
  check sees an entry (its peak RSS therefore includes one batch of entries).

Sizes: --small (default 300,000) and --entries (default 1,000,000), a longer backlog at the same density: the peak
RSS of both tells whether memory grows with the number of entries. The entries of a check's window are kept (24 hours
for special-authority-grants and changes-behind-the-bot), so memory follows the density and the window, not the
length of the backlog; both backlogs must therefore span more than the longest window (300,000 entries at a million
a week span 2.1 days), else the smaller one's window is not yet full and the comparison measures the window filling
up. The bench says so when --small spans less. Each side's time is the median of --repeat runs.

    python bench/journal.py [--entries 1000000] [--small 300000] [--batch 10000] [--days-per-million 7] [--repeat 1]

Targets: ratio <= 2 (the bot's seconds over the floor's at --entries), peak RSS at --entries <= 1.2x the peak at
--small. The last line printed is one JSON object.
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
JOURNAL_CHECKS = ("signon-attacks", "special-authority-grants", "changes-behind-the-bot", "authority-failures")
TARGET_RATIO = 2.0
TARGET_RSS_GROWTH = 1.2
LONGEST_WINDOW_DAYS = 1  # the default window of special-authority-grants and changes-behind-the-bot


def oldest_entries(demo: Path) -> dict[str, str]:
    """Each entry type's oldest timestamp in the demo's journal (set-up, read straight from the demo's table)."""
    from bot.ibmi.audit_journal import ENTRY_TYPES
    from bot.ibmi.drivers.demo import DemoConnection

    connection = DemoConnection(demo)
    try:
        cursor = connection.cursor()
        oldest = {}
        for entry_type in ENTRY_TYPES:
            cursor.execute(f"SELECT MIN(ENTRY_TIMESTAMP) FROM SYSTOOLS.AUDIT_JOURNAL_{entry_type}")
            oldest[entry_type] = cursor.fetchone()[0]  # type: ignore[index]
        return oldest
    finally:
        connection.close()


def write_config(folder: Path, demo: Path, batch: int) -> Path:
    """The example configuration pointed at the demo, with only the audit journal checks, each reading `batch`."""
    text = (REPO / "bot" / "warden.example.toml").read_text()
    text = text.replace('name = "DEMO"', f'name = "{SYSTEM}"', 1)
    text = text.replace('path = "demo-ibmi"', f"path = {json.dumps(str(demo))}", 1)
    path = folder / "warden.toml"
    path.write_text(text)
    return path


def bot_worker(demo: Path, batch: int) -> dict[str, Any]:
    from dataclasses import replace

    from bot.check_runner import NotAnnounced
    from bot.checks import registry
    from bot.checks.audit_journal.reading import JournalPosition
    from bot.config import CheckSettings, Secrets, load_config
    from bot.journal_memory import StoredJournal
    from bot.wiring import build_bot

    oldest = oldest_entries(demo)
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_config(Path(folder), demo, batch))
        checks = {
            check_id: CheckSettings(enabled=check_id in JOURNAL_CHECKS, options=_with_batch(config, check_id, batch))
            for check_id in registry.check_ids()
        }
        config = replace(config, checks=checks, storage=replace(config.storage, path=Path(folder) / "warden.db"))
        bot = build_bot(config, Secrets(slack_bot_token="xoxb-bench", slack_api_url="http://127.0.0.1:9/api/"))
        bot.checks.announcer = NotAnnounced()
        memory = StoredJournal(bot.storage, SYSTEM)
        for entry_type, timestamp in oldest.items():  # the bot was down since the oldest entry
            memory.take_in(entry_type, [], JournalPosition(timestamp), timestamp)
        try:
            started = time.perf_counter()
            cycles, positions = 0, None
            while True:
                bot.checks.run_checks(SYSTEM, JOURNAL_CHECKS)
                cycles += 1
                now = {entry_type: memory.position(entry_type) for entry_type in oldest}
                if now == positions:
                    break
                positions = now
            seconds = time.perf_counter() - started
            with bot.storage.lock:
                kept = bot.storage.db.execute("SELECT COUNT(*) FROM journal_entries").fetchone()[0]
                errors = bot.storage.db.execute("SELECT COUNT(*) FROM check_runs WHERE error IS NOT NULL").fetchone()[0]
            return {"seconds": seconds, "cycles": cycles, "kept": kept, "errors": errors, "peak_rss_mb": peak_rss_mb()}
        finally:
            bot.systems.close()
            bot.storage.close()


def _with_batch(config: Any, check_id: str, batch: int) -> dict[str, Any]:
    options = dict(config.check(check_id).options)
    if check_id in JOURNAL_CHECKS:
        options["max_entries"] = batch
    return options


def floor_worker(demo: Path, batch: int) -> dict[str, Any]:
    from bot.ibmi.access import FETCH_ROWS
    from bot.ibmi.audit_journal import _entries, entries_statement
    from bot.ibmi.drivers.demo import DemoConnection
    from bot.ibmi.table import Table

    oldest = oldest_entries(demo)
    connection = DemoConnection(demo)
    cursor = connection.cursor()
    converting = 0.0  # making the bot's entries of the rows fetched: timed apart, not part of the floor
    started = time.perf_counter()
    fetched = 0
    for entry_type, since in oldest.items():
        while True:
            cursor.execute(entries_statement(entry_type, batch), (since,))
            names = tuple(column[0].upper() for column in cursor.description or ())
            rows: list[Any] = []
            while block := cursor.fetchmany(FETCH_ROWS):
                rows += block
            converted = time.perf_counter()
            _entries(entry_type, Table(names, rows))
            converting += time.perf_counter() - converted
            fetched += len(rows)
            if len(rows) < batch:
                break
            since = rows[-1][names.index("ENTRY_TIMESTAMP")]
    seconds = time.perf_counter() - started - converting
    connection.close()
    return {"seconds": seconds, "converting_seconds": converting, "fetched": fetched, "peak_rss_mb": peak_rss_mb()}


def measure(entries: int, batch: int, repeat: int, days_per_million: float) -> dict[str, Any]:
    from tests.large_demo import fill_journal

    with tempfile.TemporaryDirectory() as folder:
        demo = Path(folder) / "demo"
        fill_journal(demo, entries, span=days_per_million * 86_400.0 * entries / 1_000_000)
        arguments = ["--demo", str(demo), "--batch", str(batch)]
        runs = taking_turns(repeat, ("bot", "floor"), lambda kind: run_worker(__file__, kind, arguments))
        bots, floors = runs["bot"], runs["floor"]
    median = statistics.median
    return {
        "seconds": median(b["seconds"] for b in bots),
        "floor_seconds": median(f["seconds"] for f in floors),
        "converting_seconds": median(f["converting_seconds"] for f in floors),
        "cycles": bots[0]["cycles"],
        "kept": bots[0]["kept"],
        "errors": bots[0]["errors"],
        "fetched": floors[0]["fetched"],
        "peak_rss_mb": max(b["peak_rss_mb"] for b in bots),
        "floor_peak_rss_mb": max(f["peak_rss_mb"] for f in floors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=300_000, help="the smaller size, for peak RSS growth")
    parser.add_argument("--batch", type=int, default=10_000, help="max_entries of each check: entries per cycle")
    parser.add_argument("--days-per-million", type=float, default=7.0, help="the journal's density")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side per size (median taken)")
    parser.add_argument("--worker", choices=("bot", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--demo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = bot_worker(args.demo, args.batch) if args.worker == "bot" else floor_worker(args.demo, args.batch)
        print(json.dumps(worker))
        return

    result: dict[str, Any] = {"batch": args.batch, "days_per_million": args.days_per_million}
    for label, size in (("small", args.small), ("entries", args.entries)):
        figures = measure(size, args.batch, args.repeat, args.days_per_million)
        ratio = figures["seconds"] / figures["floor_seconds"]
        result[label] = size
        result[f"seconds_{label}"] = round(figures["seconds"], 3)
        result[f"floor_seconds_{label}"] = round(figures["floor_seconds"], 3)
        result[f"converting_seconds_{label}"] = round(figures["converting_seconds"], 3)
        result[f"ratio_{label}"] = round(ratio, 2)
        result[f"entries_per_second_{label}"] = round(size / figures["seconds"])
        result[f"peak_rss_mb_{label}"] = round(figures["peak_rss_mb"], 1)
        result[f"floor_peak_rss_mb_{label}"] = round(figures["floor_peak_rss_mb"], 1)
        result[f"cycles_{label}"] = figures["cycles"]
        result[f"check_errors_{label}"] = figures["errors"]
        print(
            f"{size:>8} entries: bot {figures['seconds']:.2f} s in {figures['cycles']} cycles "
            f"({size / figures['seconds']:,.0f} entries/s, {figures['kept']} kept at the end, "
            f"{figures['errors']} check errors), floor {figures['floor_seconds']:.2f} s "
            f"({figures['fetched']} rows fetched; making entries of them {figures['converting_seconds']:.2f} s more), "
            f"ratio {ratio:.2f} [target <= {TARGET_RATIO}]; peak RSS "
            f"{figures['peak_rss_mb']:.0f} MB (floor {figures['floor_peak_rss_mb']:.0f} MB)",
            flush=True,
        )
    growth = result["peak_rss_mb_entries"] / result["peak_rss_mb_small"]
    result["rss_growth"] = round(growth, 2)
    small_days = args.small / 1_000_000 * args.days_per_million
    print(
        f"peak RSS at {args.entries} entries / at {args.small}: {growth:.2f} [target <= {TARGET_RSS_GROWTH}: "
        f"{'ok' if growth <= TARGET_RSS_GROWTH else 'MISSED'}]"
        + (
            f"; {args.small} entries span {small_days:.1f} days, less than the longest window ({LONGEST_WINDOW_DAYS} "
            "day): the growth includes that window filling up"
            if small_days < LONGEST_WINDOW_DAYS
            else ""
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
