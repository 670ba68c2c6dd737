"""A cycle reads each data source once per system and hands the reading to every check that needs it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.check_schedule import CheckSchedule
from bot.checks import registry
from bot.checks.cycle import PlannedCheck, run_checks
from bot.checks.definition import CheckDefinition, CheckTarget, Readings, Source, SourceContext
from bot.checks.finding import Finding
from bot.checks.refusals import RefusalMemory
from bot.config import Secrets, load_config
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.errors import ConnectionFailedError, DeadlineExceededError, NotAuthorizedError, QueryTimeoutError
from bot.wiring import build_bot
from storage.check_runs import last_runs
from tests.demo_config import write_demo_config


def write_config(tmp_path: Path, extra: str = "") -> Path:
    return write_demo_config(tmp_path, extra, system_lines='trusted = ["10.0.0.0/8"]\n')


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the product sends to any system, in order."""
    sent: list[str] = []
    query_rows = SystemConnection.query_rows

    def recording(
        self: SystemConnection, statement: str, params: Sequence[Any], convert: Any, reuse: bool = False
    ) -> list[Any]:
        sent.append(statement)
        return query_rows(self, statement, params, convert, reuse)

    monkeypatch.setattr(SystemConnection, "query_rows", recording)
    return sent


def reads_of(view: str, sent: list[str]) -> int:
    return sum(1 for statement in sent if f"QSYS2.{view}\n" in statement or f"QSYS2.{view} " in statement)


def test_one_demo_cycle_reads_netstat_once(tmp_path: Path, statements: list[str]) -> None:
    parts = build_bot(load_config(write_config(tmp_path), env={}), Secrets(slack_bot_token="xoxb-test"))
    try:
        result = parts.checks.run_cycle()
    finally:
        parts.close()
    assert result.errors == {}
    checks = {finding.check for finding in result.findings}
    assert {"unknown-connections", "plaintext-services", "smtp-relay"} <= checks  # all three use NETSTAT
    assert statements.count(sql.NETSTAT_TCP_CONNECTIONS) == 1, statements  # every connection, read once
    # and questions by key: smtp-relay's (port 25 listening) and signon-attacks' (sockets listening, and whether the
    # addresses it reports are connected), never the whole table again
    assert reads_of("NETSTAT_INFO", statements) <= 5
    assert statements.count(sql.established_from_statement(2)) == 1  # 210.107.73.73, and IPv4-mapped
    assert reads_of("NETSTAT_JOB_INFO", statements) == 1


def test_a_shared_cycle_finds_what_each_check_finds_alone(tmp_path: Path) -> None:
    parts = build_bot(load_config(write_config(tmp_path), env={}), Secrets(slack_bot_token="xoxb-test"))
    try:
        together = parts.checks.run_checks("DEMO", registry.check_ids())
        alone = {check: parts.checks.run_check("DEMO", check) for check in registry.check_ids()}
        runs = last_runs(parts.storage)
    finally:
        parts.close()
    assert together == alone
    assert {check for (system, check) in runs} == set(registry.check_ids())


def test_checks_are_grouped_by_interval_one_scheduler_job_a_group(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, '[checks.plaintext-services]\ninterval = "1h"\n'), env={})
    parts = build_bot(config, Secrets(slack_bot_token="xoxb-test"))
    try:
        groups = parts.checks.check_groups("DEMO")
        assert groups == {
            60.0: ["signon-attacks", "authority-failures", "special-authority-grants", "changes-behind-the-bot"],
            300.0: ["unknown-connections"],
            3600.0: ["plaintext-services", "smtp-relay", "splctl-exposure"],
        }
        schedule = CheckSchedule(parts.systems.names(), parts.checks, parts.lanes)  # not started: nothing runs
    finally:
        parts.close()
    entries = {(entry.system, entry.key): entry for entry in schedule.entries}
    assert set(entries) == {
        ("DEMO", "signon-attacks+authority-failures+special-authority-grants+changes-behind-the-bot"),
        ("DEMO", "unknown-connections"),
        ("DEMO", "plaintext-services+smtp-relay+splctl-exposure"),
    }
    entry = entries["DEMO", "plaintext-services+smtp-relay+splctl-exposure"]
    assert entry.checks == ("plaintext-services", "smtp-relay", "splctl-exposure")
    assert entry.interval == 3600.0


# --- the cycle runner on its own, with made-up sources ---------------------------------------------


class Counting:
    """A source reader that counts its reads and answers, or raises, what it is told."""

    def __init__(self, answer: Any = None, error: Exception | None = None):
        self.answer, self.error, self.reads = answer, error, 0

    def __call__(self, _context: SourceContext) -> Any:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return self.answer


def made_up_check(check_id: str, *sources: Source, order: int = 100) -> CheckDefinition:
    def evaluate(readings: Readings, target: CheckTarget, _settings: Any) -> list[Finding]:
        said = [f"{s.name}={readings.optional(s.name)!r}/{readings.problem(s.name)}" for s in sources]
        return [Finding(target.name, check_id, "info", "readings", "; ".join(said))]

    return CheckDefinition(check_id, check_id, 60.0, tuple(sources), evaluate, Path("."), order=order)


def run(*checks: CheckDefinition) -> dict[str, Any]:
    outcomes = run_checks(object(), CheckTarget("SYS"), [PlannedCheck(c, None) for c in checks])  # type: ignore[arg-type]
    return {o.check: (o.error if o.error else o.findings[0].title) for o in outcomes}


def test_a_source_two_checks_need_is_read_once() -> None:
    rows = Counting(["row"])
    shared = Source("shared", rows)
    assert run(made_up_check("a", shared), made_up_check("b", shared)) == {
        "a": "shared=['row']/None",
        "b": "shared=['row']/None",
    }
    assert rows.reads == 1


def test_a_source_the_profile_may_not_read_is_not_readable_for_each_check_needing_it() -> None:
    hidden = Source("hidden", Counting(error=NotAuthorizedError("SYS: query failed: SQL0551")))
    fine = Source("fine", Counting(1))
    outcome = run(made_up_check("a", hidden, fine))
    assert outcome == {"a": "hidden=None/SYS: query failed: SQL0551; fine=1/None"}


def test_a_failed_source_fails_only_the_checks_that_need_it() -> None:
    timeout = QueryTimeoutError("SYS: query took longer than 30s")
    slow, fine = Source("slow", Counting(error=timeout)), Source("fine", Counting(2))
    outcome = run(made_up_check("a", slow, fine), made_up_check("b", fine))
    assert outcome == {"a": timeout, "b": "fine=2/None"}


def test_once_the_system_is_unreachable_no_further_source_is_tried() -> None:
    down = ConnectionFailedError("SYS: connecting failed")
    first, second = Counting(error=down), Counting(3)
    outcome = run(made_up_check("a", Source("first", first)), made_up_check("b", Source("second", second)))
    assert outcome == {"a": down, "b": down}
    assert (first.reads, second.reads) == (1, 0)


def test_once_a_call_is_abandoned_at_its_deadline_no_further_source_waits_for_the_system() -> None:
    hung = DeadlineExceededError("SYS: 'SELECT * FROM QSYS2.NETSTAT_INFO' did not answer within 35s")
    first, second = Counting(error=hung), Counting(3)
    outcome = run(made_up_check("a", Source("first", first)), made_up_check("b", Source("second", second)))
    assert outcome == {"a": hung, "b": hung}
    assert (first.reads, second.reads) == (1, 0)


def test_a_check_that_cannot_do_without_an_unreadable_source_fails_with_its_error() -> None:
    refused = NotAuthorizedError("SYS: query failed: SQL0551")
    required = Source("required", Counting(error=refused))

    def evaluate(readings: Readings, target: CheckTarget, _settings: Any) -> list[Finding]:
        readings.value("required")
        return []

    check = CheckDefinition("needs-it", "needs it", 60.0, (required,), evaluate, Path("."))
    assert run(check) == {"needs-it": refused}


def test_the_registry_refuses_two_sources_of_one_name() -> None:
    one, other = Source("same", Counting()), Source("same", Counting())
    with pytest.raises(registry.RegistryError, match="already named 'same'"):
        registry._ordered([made_up_check("a", one), made_up_check("b", other)])
    with pytest.raises(registry.RegistryError, match="two checks have the id 'a'"):
        registry._ordered([made_up_check("a"), made_up_check("a")])


def test_a_check_id_is_lower_case_words_joined_by_dashes() -> None:
    with pytest.raises(ValueError, match="lower-case words joined by dashes"):
        made_up_check("Unknown_Connections")


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_refused_netstat_read_is_asked_again_at_most_hourly(tmp_path: Path, statements: list[str]) -> None:
    """On IBM i 7.6 each refused NETSTAT read writes an audit-journal entry: two cycles within the hour send one
    NETSTAT statement; the checks still say they cannot see, and after the hour it is asked again."""
    config = write_config(tmp_path).read_text(encoding="utf-8")
    path = tmp_path / "warden.toml"
    path.write_text(config.replace("trusted = [", 'demo.missing_authorities = ["*IOSYSCFG"]\ntrusted = ['))
    parts = build_bot(load_config(path, env={}), Secrets(slack_bot_token="xoxb-test"))
    clock = ManualClock()
    parts.checks.refusals = RefusalMemory(clock)
    try:
        first = parts.checks.run_cycle()
        clock.now += 3599
        second = parts.checks.run_cycle()
        assert reads_of("NETSTAT_INFO", statements) == 1, statements
        clock.now += 1
        parts.checks.run_cycle()
        assert reads_of("NETSTAT_INFO", statements) == 2
    finally:
        parts.close()
    for result in (first, second):
        cannot_see = [f for f in result.findings if f.check == "unknown-connections"]
        assert cannot_see and all("*IOSYSCFG" in " ".join((f.title, *f.details)) for f in cannot_see), cannot_see
    assert any("at most every 60 minutes" in " ".join(f.details) for f in second.findings)
    assert not any("at most every 60 minutes" in " ".join(f.details) for f in first.findings)
