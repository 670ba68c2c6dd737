"""Demo traffic: connections that arrive and leave, and audit journal entries, over time; the same for the same
seed."""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import UTC, datetime

from bot.ibmi.drivers.demo.journal import append
from bot.ibmi.drivers.demo.journal_story import traffic_entries
from bot.ibmi.drivers.demo.seed import TRAFFIC_VISITORS
from bot.ibmi.drivers.demo.store import add_connection

MAX_TRAFFIC_CATCH_UP = 100  # steps replayed at most when a demo folder was idle for a long time


def advance_traffic(db: sqlite3.Connection, interval: float | None, seed: int) -> None:
    """Replay the traffic steps due since the demo system was created and not replayed yet."""
    if not interval:
        return
    step, started_at = db.execute("SELECT STEP, STARTED_AT FROM WARDEN_DEMO.TRAFFIC").fetchone()
    due = int((time.time() - started_at) // interval)
    if due <= step:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for number in range(max(step + 1, due - MAX_TRAFFIC_CATCH_UP + 1), due + 1):
            _traffic_step(db, seed, number)
            step_due = datetime.fromtimestamp(started_at + number * interval, UTC).replace(tzinfo=None)
            append(db, traffic_entries(seed, number, step_due, interval))
        db.execute("UPDATE WARDEN_DEMO.TRAFFIC SET STEP = ?", (due,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _traffic_step(db: sqlite3.Connection, seed: int, number: int) -> None:
    """One deterministic change: a visitor connects, or a connected visitor leaves."""
    rng = random.Random(seed * 1_000_003 + number)
    address, local_port, port_name, user, job = rng.choice(TRAFFIC_VISITORS)
    present = db.execute(
        "SELECT REMOTE_PORT FROM QSYS2.NETSTAT_INFO WHERE REMOTE_ADDRESS = ? AND LOCAL_PORT = ?",
        (address, local_port),
    ).fetchone()
    if present:
        for table in ("NETSTAT_INFO", "NETSTAT_JOB_INFO"):
            db.execute(f"DELETE FROM QSYS2.{table} WHERE REMOTE_ADDRESS = ? AND LOCAL_PORT = ?", (address, local_port))
    else:
        port = rng.randint(49152, 65535)
        add_connection(
            db,
            address,
            port,
            local_port,
            port_name,
            rng.uniform(0, 300),
            rng.randint(1_000, 5_000_000),
            rng.randint(500, 400_000),
            user,
            job,
        )
