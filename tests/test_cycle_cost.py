"""What a check cycle costs, counted rather than timed: statements sent to IBM i and to the bot's database,
per-cycle work done once, and findings on a large demo exactly as they were before the cycle was made cheaper.

Speed itself is measured in bench/cycle.py, never here.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.alerting.lifecycle import AlertManager
from bot.checks import registry
from bot.checks.cycle import PlannedCheck, run_checks
from bot.checks.definition import CheckTarget
from bot.checks.finding import Finding
from bot.checks.splctl_exposure import SplctlSettings, evaluate
from bot.config import AlertSettings, Route
from bot.ibmi import sql
from bot.ibmi.drivers.demo import DemoConnection
from bot.ibmi.rows import OutputQueue, UserProfile
from bot.ibmi.table import Table
from storage import open_database
from storage.alerts import alerts_of
from tests.large_demo import TRUSTED, fill

FIXTURE = Path(__file__).parent / "fixtures" / "large_demo_findings.json.gz"
LARGE = 3000  # connections and output queues: 60 libraries, 150 untrusted addresses


class CountingConnection:
    """A DB-API demo connection that keeps every statement sent."""

    def __init__(self, folder: Path):
        self.demo = DemoConnection(folder)
        self.statements: list[str] = []

    def query(self, statement: str, params: Any = ()) -> list[dict[str, Any]]:
        return self.query_rows(statement, params, Table.dicts)

    def query_rows(
        self, statement: str, params: Any, convert: Callable[[Table], list[Any]], reuse: bool = False
    ) -> list[Any]:
        self.statements.append(statement)
        cursor = self.demo.cursor()
        cursor.execute(statement, tuple(params))
        return convert(Table(tuple(column[0] for column in cursor.description or ()), cursor.fetchall()))

    def close(self) -> None:
        self.demo.close()


@pytest.fixture(scope="module")
def large_demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("large") / "demo"
    fill(folder, LARGE)
    return folder


def all_findings(folder: Path) -> list[dict[str, Any]]:
    connection = CountingConnection(folder)
    try:
        planned = [PlannedCheck(check, check.build_settings({})) for check in registry.checks()]
        target = CheckTarget("BENCH", tuple(ipaddress.ip_network(n) for n in TRUSTED))
        outcomes = run_checks(connection, target, planned)
    finally:
        connection.close()
    assert all(outcome.error is None for outcome in outcomes)
    return [finding.to_json() for outcome in outcomes for finding in outcome.findings]


def test_findings_on_a_large_demo_are_those_of_the_cycle_before_it_was_made_cheaper(large_demo):
    """The fixture holds the findings the checks gave on this demo before per-row work was moved out of
    the loops and the fast address path used everywhere: every finding, field for field, in order."""
    expected = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    recorded_checks = {finding["check"] for finding in expected}  # the checks there were when it was recorded
    found = json.loads(json.dumps(all_findings(large_demo), default=str))
    found = [finding for finding in found if finding["check"] in recorded_checks]
    assert len(found) == len(expected)
    assert found == expected


def test_object_privileges_is_read_in_one_query_for_many_libraries(large_demo):
    connection = CountingConnection(large_demo)
    try:
        queues = sql.read_output_queues(connection)
    finally:
        connection.close()
    libraries = {queue.library for queue in queues}
    assert len(libraries) > 50
    reads = [s for s in connection.statements if "OBJECT_PRIVILEGES" in s]
    assert len(reads) == 1, f"{len(reads)} OBJECT_PRIVILEGES queries for {len(libraries)} libraries"
    by_name = {queue.qualified_name: queue for queue in queues}
    assert by_name["LIB00000/Q0000000"].public_authority == "*USE"
    assert by_name["LIB00000/Q0000001"].public_authority == "*CHANGE"
    assert by_name["LIB00059/Q0002952"].public_authority == "*EXCLUDE"
    assert by_name["PAYLIB/PAYROLL"].public_authority == "*USE"


def test_the_libraries_are_asked_in_batches_of_parameter_markers():
    rows = [{"OUTPUT_QUEUE_LIBRARY_NAME": f"L{i:04d}"} for i in range(1201)] * 2
    statements = sql.output_queue_public_authority_statements(rows)
    assert [len(libraries) for _, libraries in statements] == [500, 500, 201]
    assert all(statement.count("?") == len(libraries) for statement, libraries in statements)
    assert sorted(library for _, libraries in statements for library in libraries) == [f"L{i:04d}" for i in range(1201)]
    with pytest.raises(ValueError, match="1 to 500"):
        sql.output_queue_public_authority(501)


class CountedHolders(list):
    """The *JOBCTL holders, counting how often the check walks through them."""

    walks = 0

    def __iter__(self):
        CountedHolders.walks += 1
        return super().__iter__()


def test_jobctl_holders_are_judged_once_per_run_not_once_per_queue():
    holders = CountedHolders(
        [
            UserProfile("QSYSOPR", "*ENABLED", frozenset({"*JOBCTL"}), None, None, None, {}),
            UserProfile("OPS", "*ENABLED", frozenset(), None, None, None, {"*JOBCTL": ("OPSGRP",)}),
        ]
    )
    queues = [OutputQueue("LIB", f"Q{i}", 1, "*NO", "*YES", "*OWNER", None, "*EXCLUDE") for i in range(200)]
    CountedHolders.walks = 0
    findings = evaluate("SYS", [], queues, holders, SplctlSettings())
    assert len([f for f in findings if f.subject.startswith("outq:")]) == 200
    assert "enabled *JOBCTL holders: OPS (via OPSGRP), QSYSOPR" in findings[-1].details[0]
    assert CountedHolders.walks <= 2  # sorted once (and perhaps checked for emptiness), whatever the queue count


def finding(subject: str, title: str = "t") -> Finding:
    return Finding("SYS", "unknown-connections", "warning", subject, title, ("d",), {"n": 1})


def saved_statements(tmp_path: Path, count: int) -> list[str]:
    """The statements writing alerts in a run that finds the same `count` alerts as the run before."""
    storage = open_database(tmp_path / f"warden-{count}.db", "0")
    clock = [1_800_000_000.0]
    alerts = AlertManager(storage, AlertSettings(), (Route("C0ALERTS", "info"),), clock=lambda: clock[0])
    findings = [finding(f"10.9.0.{i}") for i in range(count)]
    alerts.process("SYS", "unknown-connections", findings)
    clock[0] += 300
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    try:
        result = alerts.process("SYS", "unknown-connections", findings)
    finally:
        storage.db.conn.set_trace_callback(None)
    assert not result.changed
    stored = alerts_of(storage, "SYS", "unknown-connections")
    assert {record.last_seen for record in stored.values()} == {clock[0]}
    storage.close()
    return [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE"))]


def test_an_unchanged_run_does_not_rewrite_its_alerts(tmp_path):
    few, many = saved_statements(tmp_path, 3), saved_statements(tmp_path, 60)
    assert not [s for s in many if re.search(r"\b(INTO|UPDATE)\s+alerts\b", s, re.IGNORECASE)]
    assert len(many) == len(few) <= 1  # at most one statement says when the run was seen, whatever the count


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        (sql.output_queue_public_authority(2), ("LIB00001", "LIB00002")),
        (sql.OUTPUT_QUEUES, ()),
        (sql.SMTP_LISTENERS, ()),
        ("SELECT REMOTE_PORT FROM QSYS2.NETSTAT_INFO WHERE REMOTE_ADDRESS = ? AND LOCAL_PORT = ?", ("1.2.3.4", 23)),
    ],
    ids=["public-authority", "output-queues-in-order", "smtp-listeners", "traffic-peer"],
)
def test_the_demo_answers_by_key_where_ibm_i_does(large_demo, statement, params):
    from bot.ibmi.drivers.demo.store import open_libraries

    db = open_libraries(large_demo)
    try:
        plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + statement, params))
    finally:
        db.close()
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort of the whole table for ORDER BY


def test_smtp_relay_asks_netstat_by_key_not_for_every_connection(large_demo):
    """smtp-relay runs hourly, apart from the checks that judge every connection: whether SMTP listens is one
    question by key, never a read of the whole of NETSTAT."""
    connection = CountingConnection(large_demo)
    try:
        check = registry.check("smtp-relay")
        [outcome] = run_checks(connection, CheckTarget("BENCH"), [PlannedCheck(check, check.build_settings({}))])
    finally:
        connection.close()
    assert outcome.error is None
    assert sql.NETSTAT_TCP_CONNECTIONS not in connection.statements
    assert sql.SMTP_LISTENERS in connection.statements
