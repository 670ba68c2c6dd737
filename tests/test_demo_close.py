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

# Three ways a close meets a statement, each run `rounds` times. "execute" and "fetch": the statement's SQL function
# holds row 1 (inside `execute`) or row 2 (inside a `fetchmany`) until the connection is being closed from another
# thread. "anywhere": a long statement runs while the main thread closes the connection, which lands before it
# starts, during one of SQLite's long steps or between two, wherever the other thread happens to be.
SCRIPT = """
import json, sys, threading
from pathlib import Path
from bot.ibmi.drivers.demo.connection import DemoConnection
from bot.ibmi.drivers.demo.store import ensure_demo_system

LONG = ("WITH RECURSIVE N(X) AS (SELECT 1 UNION ALL SELECT X + 1 FROM N WHERE X < 100000000) "
        "SELECT X FROM N WHERE X % 20000 = 0")  # each row a long step inside SQLite
folder, rounds, case = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ensure_demo_system(folder)
outcomes, left_open = [], 0


def fetch(cursor, statement, started):
    started.set()
    try:
        cursor.execute(statement)
        while cursor.fetchmany(1):
            pass
        outcomes.append("all rows")
    except Exception as error:
        outcomes.append(f"{type(error).__name__} {error.args[0]}")


def held_at(row):
    connection = DemoConnection(folder)
    inside, closing = threading.Event(), threading.Event()
    calls = []

    def held_row():
        calls.append(1)
        if len(calls) == row:
            inside.set()
            closing.wait()
        return 1

    connection._db.create_function("HELD_ROW", 0, held_row)
    statement = "SELECT HELD_ROW() FROM QSYS2.USER_INFO"
    worker = threading.Thread(target=fetch, args=(connection.cursor(), statement, threading.Event()))
    worker.start()
    inside.wait()
    closer = threading.Thread(target=connection.close)
    closer.start()
    connection.closed.wait()
    closing.set()
    worker.join()
    closer.join()
    return connection


def anywhere():
    connection = DemoConnection(folder)
    started = threading.Event()
    worker = threading.Thread(target=fetch, args=(connection.cursor(), LONG, started))
    worker.start()
    started.wait()
    connection.close()
    worker.join()
    return connection


cases = {"execute": lambda: held_at(1), "fetch": lambda: held_at(2), "anywhere": anywhere}
for _ in range(rounds):
    left_open += cases[case]()._db is not None
print(json.dumps({"outcomes": sorted(set(outcomes)), "left_open": left_open}))
"""


@pytest.mark.parametrize(
    "case", ["execute", "fetch", "anywhere"], ids=["inside execute", "inside a fetch", "anywhere in a long statement"]
)
def test_closing_a_connection_under_a_running_statement_ends_the_statement_not_the_process(
    tmp_path: Path, case: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "demo"), str(ROUNDS), case],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.splitlines()[-1])
    # The statement fails as on a connection closed under it (SQLSTATE 08003), and the close still happens.
    assert figures == {"outcomes": ["DemoError 08003"], "left_open": 0}
