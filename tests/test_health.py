"""A system's health is judged once per run of its checks, from every enabled check's latest run: never per check,
and never flapping between check groups of different intervals."""

from __future__ import annotations

from bot.health import (
    ERRORING,
    HUNG,
    NOT_AUTHORISED,
    UNREACHABLE,
    HealthJudge,
    Sickness,
    Verdict,
    sick_alert,
    sickness_of,
)
from bot.ibmi.errors import (
    ConnectionFailedError,
    DeadlineExceededError,
    IbmiError,
    NotAuthorizedError,
    QueryTimeoutError,
)

CHECKS = ("five-minutes-a", "five-minutes-b", "hourly")
SQL0901 = IbmiError("PROD: 'SELECT …' failed: [SQL0901] SQL system error.")
REFUSED = NotAuthorizedError("PROD: 'SELECT …' failed: [SQL0551] Not authorized to object QSYS2 in QSYS type *LIB.")
HANGS = DeadlineExceededError("PROD: 'SELECT …' did not answer within 35s", 35.0)
DOWN = ConnectionFailedError("PROD: connecting failed: [08001] Communication link failure")


def judge() -> HealthJudge:
    return HealthJudge(lambda system: CHECKS)


def kind(verdict: Verdict | None) -> str | None:
    if verdict is None:
        return "undecided"
    return verdict.sickness.kind if verdict.sickness else "healthy"


def test_unreachable_and_hung_are_decided_by_the_run_that_met_them():
    health = judge()
    assert kind(health.judge("PROD", [("hourly", DOWN)])) == UNREACHABLE
    assert kind(health.judge("PROD", [("hourly", HANGS), ("five-minutes-a", DOWN)])) == UNREACHABLE
    hung = health.judge("PROD", [("five-minutes-a", HANGS), ("five-minutes-b", HANGS)])
    assert hung == Verdict(Sickness(HUNG, "'SELECT …' did not answer within 35s", deadline=35.0))
    assert kind(health.judge("PROD", [("five-minutes-a", None), ("five-minutes-b", SQL0901)])) == "healthy"


def test_erroring_needs_every_enabled_check_s_latest_run_to_have_failed():
    health = judge()
    assert kind(health.judge("PROD", [("five-minutes-a", SQL0901), ("five-minutes-b", SQL0901)])) == "undecided"
    erroring = health.judge("PROD", [("hourly", SQL0901)])
    assert erroring == Verdict(Sickness(ERRORING, "'SELECT …' failed: [SQL0901] SQL system error."))
    assert kind(health.judge("PROD", [("five-minutes-a", SQL0901), ("five-minutes-b", SQL0901)])) == ERRORING
    assert kind(health.judge("PROD", [("hourly", None)])) == "healthy"


def test_one_group_failing_while_another_answers_never_makes_the_system_sick():
    health = judge()
    verdicts = []
    for _ in range(3):
        verdicts.append(kind(health.judge("PROD", [("five-minutes-a", SQL0901), ("five-minutes-b", SQL0901)])))
        verdicts.append(kind(health.judge("PROD", [("hourly", None)])))
    assert verdicts == ["undecided", "healthy", "healthy", "healthy", "healthy", "healthy"]


def test_not_authorised_only_when_every_check_was_refused():
    health = judge()
    health.judge("PROD", [("hourly", REFUSED)])
    refused = health.judge("PROD", [("five-minutes-a", REFUSED), ("five-minutes-b", REFUSED)])
    assert kind(refused) == NOT_AUTHORISED and refused is not None and refused.sickness is not None
    assert "ibmi-warden doctor" in (refused.sickness.fix or "")
    assert kind(health.judge("PROD", [("hourly", SQL0901)])) == ERRORING  # refused and failing: erroring


def test_systems_are_judged_apart():
    health = judge()
    health.judge("PROD", [(check, SQL0901) for check in CHECKS])
    assert kind(health.judge("TEST", [("hourly", SQL0901)])) == "undecided"
    assert kind(health.judge("PROD", [])) == "undecided"  # a run of nothing says nothing


def test_what_each_sickness_says_and_its_fix():
    timeout = sickness_of("PROD", QueryTimeoutError("PROD: 'SELECT …' stopped by the query timeout: [SQL0666] …"))
    assert timeout.kind == ERRORING and "query_timeout" in (timeout.fix or "")
    assert sickness_of("PROD", SQL0901).fix is None  # no fix claimed for an SQL system error
    hung = sickness_of("PROD", HANGS)
    assert hung.detail == "calls abandoned at the 35 s deadline — 'SELECT …' did not answer within 35s"
    refused = sickness_of("PROD", REFUSED)
    assert refused.detail.startswith("grant the bot's profile")
    titles = {s.kind: sick_alert("PROD", s).title for s in (sickness_of("PROD", e) for e in (DOWN, HANGS, REFUSED))}
    assert titles == {
        UNREACHABLE: "PROD cannot be reached: connecting failed: [08001] Communication link failure",
        HUNG: "PROD is hung: calls abandoned at the 35 s deadline — 'SELECT …' did not answer within 35s",
        NOT_AUTHORISED: "PROD is not authorised: 'SELECT …' failed: [SQL0551] Not authorized to object QSYS2 in QSYS "
        "type *LIB.",
    }
    alerts = {sick_alert("PROD", sickness_of("PROD", e)).fingerprint for e in (DOWN, HANGS, REFUSED, SQL0901)}
    assert len(alerts) == 1  # one alert whatever the kind: a change of kind updates it


def test_netstat_tells_only_whether_the_system_answers(tmp_path, monkeypatch):
    from datetime import UTC, datetime

    from bot.ibmi.drivers import demo
    from bot.systems import Systems
    from storage import open_database
    from storage.check_runs import reachability, record_health
    from tests.test_alerts_e2e import make_config

    config = make_config(tmp_path, systems=("PROD",))
    storage = open_database(tmp_path / "warden.db", "test")
    systems = Systems(config, storage)
    try:
        record_health(storage, "PROD", ERRORING, "[SQL0901] SQL system error.", datetime(2026, 1, 1, tzinfo=UTC))
        assert systems.netstat("PROD").entries  # it answered: erroring is the checks' to end, not netstat's
        assert reachability(storage)["PROD"].state == ERRORING

        def refuse(settings):  # noqa: ANN001, ANN202
            raise ConnectionFailedError("PROD: connecting failed: [08001] Communication link failure")

        systems.connection("PROD")._discard()
        monkeypatch.setattr(demo, "connect", refuse)
        assert "Communication link failure" in (systems.netstat("PROD").note or "")
        unreachable = reachability(storage)["PROD"]
        assert (unreachable.state, unreachable.reachable) == (UNREACHABLE, False)
        monkeypatch.undo()
        systems.netstat("PROD")
        assert reachability(storage)["PROD"].state == "healthy"
    finally:
        systems.close()
        storage.close()
