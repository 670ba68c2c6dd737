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

# A long statement runs while the connection is closed from the main thread: the close comes before the statement
# starts, during one of SQLite's long steps, or between two, wherever the other thread happens to be.
RUNNING = """
import json, sys, threading
from pathlib import Path
from bot.ibmi.drivers.demo.connection import DemoConnection
from bot.ibmi.drivers.demo.store import ensure_demo_system

folder, rounds = Path(sys.argv[1]), int(sys.argv[2])
ensure_demo_system(folder)
outcomes, left_open = [], 0
for _ in range(rounds):
    connection = DemoConnection(folder)
    cursor = connection.cursor()
    started = threading.Event()

    def fetch():
        started.set()
        try:
            cursor.execute("WITH RECURSIVE N(X) AS (SELECT 1 UNION ALL SELECT X + 1 FROM N WHERE X < 100000000) "
                           "SELECT X FROM N WHERE X % 20000 = 0")  # each row a long step inside SQLite
            while cursor.fetchmany(1):
                pass
            outcomes.append("all rows")
        except Exception as error:
            outcomes.append(f"{type(error).__name__} {error.args[0]}")

    worker = threading.Thread(target=fetch)
    worker.start()
    started.wait()
    connection.close()
    worker.join()
    left_open += connection._db is not None
print(json.dumps({"outcomes": sorted(set(outcomes)), "left_open": left_open}))
"""


def run_rounds(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *arguments], cwd=REPO, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("stop_at", [1, 2], ids=["inside execute", "inside a fetch"])
def test_closing_a_connection_under_a_running_statement_ends_the_statement_not_the_process(
    tmp_path: Path, stop_at: int
) -> None:
    result = run_rounds(SCRIPT, str(tmp_path / "demo"), str(ROUNDS), str(stop_at))
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.splitlines()[-1])
    # The statement fails as on a connection closed under it (SQLSTATE 08003), and the close still happens.
    assert figures == {"outcomes": ["DemoError 08003"], "left_open": 0}


def test_closing_a_connection_wherever_a_long_statement_is_ends_the_statement_not_the_process(tmp_path: Path) -> None:
    result = run_rounds(RUNNING, str(tmp_path / "demo"), str(ROUNDS))
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.splitlines()[-1])
    assert figures == {"outcomes": ["DemoError 08003"], "left_open": 0}
