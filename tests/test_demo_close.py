"""Closing a demo connection while another thread's statement runs on it, as the bot does with an abandoned call
(bot/ibmi/deadline.py) and at stop. CPython's sqlite3 module crashes the interpreter when a connection is closed
under a running statement, so each case runs in a process of its own, many times over."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 100

# The statement's SQL function blocks on row `stop_at` until the connection is being closed: on the first row the
# close meets the statement inside `execute`, on the second inside a `fetchmany`.
SCRIPT = """
import json, sys, threading
from pathlib import Path
from bot.ibmi.drivers.demo.connection import DemoConnection
from bot.ibmi.drivers.demo.store import ensure_demo_system

folder, rounds, stop_at = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ensure_demo_system(folder)
outcomes, left_open = [], 0
for _ in range(rounds):
    connection = DemoConnection(folder)
    inside, closing = threading.Event(), threading.Event()
    calls = []

    def held_row():
        calls.append(1)
        if len(calls) == stop_at:
            inside.set()
            closing.wait()
        return 1

    connection._db.create_function("HELD_ROW", 0, held_row)
    cursor = connection.cursor()

    def fetch():
        try:
            cursor.execute("SELECT HELD_ROW() FROM QSYS2.USER_INFO")
            while cursor.fetchmany(1):
                pass
            outcomes.append("all rows")
        except Exception as error:
            outcomes.append(f"{type(error).__name__} {error.args[0]}")

    worker = threading.Thread(target=fetch)
    worker.start()
    inside.wait()
    closer = threading.Thread(target=connection.close)
    closer.start()
    connection.closed.wait()
    closing.set()
    worker.join()
    closer.join()
    left_open += connection._db is not None
print(json.dumps({"outcomes": sorted(set(outcomes)), "left_open": left_open}))
"""


@pytest.mark.parametrize("stop_at", [1, 2], ids=["inside execute", "inside a fetch"])
def test_closing_a_connection_under_a_running_statement_ends_the_statement_not_the_process(
    tmp_path: Path, stop_at: int
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "demo"), str(ROUNDS), str(stop_at)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.splitlines()[-1])
    # The statement fails as on a connection closed under it (SQLSTATE 08003), and the close still happens.
    assert figures == {"outcomes": ["DemoError 08003"], "left_open": 0}
