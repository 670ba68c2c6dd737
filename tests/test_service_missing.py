"""A check whose IBM i service this system does not have says "cannot see: needs …" instead of failing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.config import Secrets, load_config
from bot.ibmi.drivers import odbc
from bot.ibmi.drivers.demo import connection as demo_connection
from bot.ibmi.drivers.demo.store import ensure_demo_system
from bot.wiring import build_bot
from tests.test_check_cycle import write_config


def older_demo_without(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: str, table: str) -> None:
    """The demo system as a release without `library`.`table`: made, the table dropped, and not made again."""
    folder = tmp_path / "demo-ibmi"
    ensure_demo_system(folder)
    with sqlite3.connect(folder / f"{library}.sqlite") as db:
        db.execute(f"DROP TABLE {table}")
    monkeypatch.setattr(demo_connection, "ensure_demo_system", lambda folder: None)


def test_a_missing_service_gives_a_cannot_see_finding_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older_demo_without(tmp_path, monkeypatch, "QSYS2", "OUTPUT_QUEUE_INFO")
    parts = build_bot(load_config(write_config(tmp_path), env={}), Secrets(slack_bot_token="xoxb-test"))
    try:
        outcome = parts.checks.run_checks("DEMO", ["splctl-exposure", "plaintext-services"])
    finally:
        parts.close()
    findings, error = outcome["splctl-exposure"]
    assert error is None
    assert [f.title for f in findings] == [
        "splctl-exposure cannot see: needs QSYS2.OUTPUT_QUEUE_INFO and QSYS2.OBJECT_PRIVILEGES "
        "(a newer release or PTF group)"
    ]
    assert findings[0].severity == "warning"
    assert "SQL0204" in findings[0].details[0]
    assert outcome["plaintext-services"][1] is None  # the checks not needing it judge as before


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (("42704", "[SQL0204] NETSTAT_INFO in QSYS2 type *FILE not found."), "missing"),
        (("42703", "[SQL0206] Column or global variable JOB_ACTIVE_TIME not found."), "missing"),
        (("42501", "[SQL0551] Not authorized to object NETSTAT_INFO in QSYS2 type *FILE."), "authority"),
    ],
)
def test_not_found_errors_are_classified_as_a_missing_service(args: tuple[str, str], kind: str) -> None:
    assert odbc.classify_error(Exception(*args)) == kind
