"""A run known to change nothing (the same finding objects as a run that changed nothing or posted every alert,
the same stored alerts and silences, no reminder due) skips the lifecycle's stages and gives the same result
(bot/alerting/quiet.py); anything else is judged again. A property test runs random histories through a lifecycle
with quiet runs and one without, and compares everything they stored and queued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import bot
import bot.alerting.lifecycle as lifecycle
from bot.alerting.lifecycle import AlertManager, LifecycleResult
from bot.checks.finding import Finding
from bot.config import AlertSettings, Route
from storage import Storage, open_database, outbox
from storage.alerts import add_silence, alert, alerts_of, end_silence, mark_seen, save_alert

SYSTEM, CHECK = "PROD", "unknown-connections"
T0 = 1_800_000_000.0
REPEAT = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_database(tmp_path / "warden.db", bot.__version__)
    yield opened
    opened.close()


def finding(subject: str, severity: str = "warning") -> Finding:
    return Finding(SYSTEM, CHECK, severity, subject, f"connection from {subject}", ("d",), {"remote_address": subject})


def manager(storage: Storage, clock: Clock, routes: tuple[Route, ...] = (Route("C0ALERTS", "info"),)) -> AlertManager:
    return AlertManager(storage, AlertSettings(repeat_interval=REPEAT, resolve_after=2), routes, clock=clock)


def posted_then_quiet(storage: Storage, clock: Clock) -> tuple[AlertManager, list[Finding]]:
    """A lifecycle that posted one finding, then saw it again in a run known to change nothing."""
    alerts = manager(storage, clock)
    found = [finding("203.0.113.9")]
    alerts.process(SYSTEM, CHECK, found)
    alerts.process(SYSTEM, CHECK, found)
    return alerts, found


class NoQuietRuns(dict):
    """A lifecycle's memory of quiet runs that never remembers one: every run goes through every stage."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


@pytest.fixture
def diffs(monkeypatch) -> list[int]:
    """How many runs went through the diff stage."""
    calls: list[int] = []
    real = lifecycle.diff

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "diff", counted)
    return calls


def test_the_same_findings_after_the_run_that_posted_them_skip_the_stages_and_still_count_as_seen(storage, diffs):
    clock = Clock()
    alerts = manager(storage, clock)
    found = [finding("203.0.113.9"), finding("198.51.100.7")]
    assert alerts.process(SYSTEM, CHECK, found).new  # posted: every alert announced, so the next run is known
    clock.now += 60
    queued = outbox.pending_count(storage)
    assert alerts.process(SYSTEM, CHECK, found) == LifecycleResult()
    clock.now += 60
    assert alerts.process(SYSTEM, CHECK, list(found)) == LifecycleResult()
    assert len(diffs) == 1
    assert outbox.pending_count(storage) == queued
    assert alert(storage, found[0].fingerprint).last_seen == T0 + 120


def test_findings_no_route_takes_skip_the_stages_once_a_run_stored_nothing(storage, diffs):
    clock = Clock()
    alerts = manager(storage, clock, routes=(Route("C0ALERTS", "critical"),))
    found = [finding("203.0.113.9")]  # a warning: tracked, not announced
    for _ in range(3):
        assert alerts.process(SYSTEM, CHECK, found) == LifecycleResult()
        clock.now += 60
    assert len(diffs) == 2  # the first run stored the alert; the second stored nothing; the third repeated it
    assert alert(storage, found[0].fingerprint).last_seen == T0 + 120


def test_equal_findings_that_are_other_objects_are_judged_again(storage, diffs):
    clock = Clock()
    alerts = manager(storage, clock)
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    alerts.process(SYSTEM, CHECK, [finding("203.0.113.9")])
    assert len(diffs) == 3


def test_a_reminder_falls_due_for_the_same_findings(storage, diffs):
    clock = Clock()
    alerts = manager(storage, clock)
    found = [finding("203.0.113.9")]
    alerts.process(SYSTEM, CHECK, found)
    clock.now += 60
    alerts.process(SYSTEM, CHECK, found)
    clock.now = T0 + REPEAT
    assert alerts.process(SYSTEM, CHECK, found).reminded == [found[0].fingerprint]


def test_a_silence_added_or_ended_is_seen_by_the_same_findings(storage):
    clock = Clock()
    alerts, found = posted_then_quiet(storage, clock)
    silence = add_silence(storage, "address", "203.0.113.9", "known", "U1", clock.now, clock.now + 600)
    assert alerts.process(SYSTEM, CHECK, found).silenced == [found[0].fingerprint]
    assert alerts.process(SYSTEM, CHECK, found).silenced == [found[0].fingerprint]  # quiet too, and says so
    end_silence(storage, silence.id, clock.now)
    assert alerts.process(SYSTEM, CHECK, found) == LifecycleResult()


def test_an_alert_someone_else_changed_is_judged_again(storage):
    clock = Clock()
    alerts, found = posted_then_quiet(storage, clock)
    stored = alert(storage, found[0].fingerprint)
    save_alert(storage, stored.with_changes(state="resolved", resolved_at=clock.now))  # e.g. another writer
    clock.now += 60
    assert alerts.process(SYSTEM, CHECK, found).reopened == [found[0].fingerprint]


def test_an_alert_no_longer_found_is_counted_clean_after_quiet_runs(storage):
    clock = Clock()
    alerts = manager(storage, clock)
    kept, gone = finding("203.0.113.9"), finding("198.51.100.7")
    alerts.process(SYSTEM, CHECK, [kept, gone])
    alerts.process(SYSTEM, CHECK, [kept, gone])
    alerts.process(SYSTEM, CHECK, [kept])
    assert alerts_of(storage, SYSTEM, CHECK)[gone.fingerprint].clean_runs == 1
    assert alerts.process(SYSTEM, CHECK, [kept]).resolved == [gone.fingerprint]


def test_a_run_that_failed_forgets_its_quiet_run(storage, diffs, monkeypatch):
    clock = Clock()
    alerts, found = posted_then_quiet(storage, clock)

    def refused(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(lifecycle, "mark_seen", refused)
    with pytest.raises(RuntimeError):
        alerts.process(SYSTEM, CHECK, found)
    monkeypatch.setattr(lifecycle, "mark_seen", mark_seen)
    calls = len(diffs)
    alerts.process(SYSTEM, CHECK, found)
    assert len(diffs) == calls + 1


# --- Random histories: the same outcome with and without quiet runs ---------------------------------------------

SUBJECTS = ("203.0.113.9", "198.51.100.7", "192.0.2.44")
RUN = st.tuples(st.just("run"), st.lists(st.sampled_from(SUBJECTS), unique=True), st.booleans())
SAME = ("run", SUBJECTS[:2], True)
SAME_RUN = st.just(SAME)  # quiet runs need repeats
WAIT = st.tuples(st.just("wait"), st.sampled_from((1.0, 60.0, REPEAT / 2, REPEAT, 2 * REPEAT)))
STEP = st.one_of(
    RUN,
    SAME_RUN,
    SAME_RUN,
    SAME_RUN,
    WAIT,
    WAIT,
    st.tuples(st.just("silence"), st.sampled_from(SUBJECTS), st.sampled_from((30.0, REPEAT))),
    st.tuples(st.just("unsilence")),
    st.tuples(st.just("resolve elsewhere"), st.sampled_from(SUBJECTS)),  # another writer changes an alert
)


def _stored(storage: Storage) -> tuple[Any, ...]:
    records = sorted(alerts_of(storage, SYSTEM, CHECK).values(), key=lambda record: record.fingerprint)
    queued = sorted((item.channel, item.method, item.payload.get("text")) for item in outbox.items(storage))
    return tuple(records), tuple(queued)  # sorted: the edits of one run go in the order of random message keys


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=6, max_size=20), critical_only=st.booleans())
@example(steps=[SAME, SAME, ("wait", REPEAT), SAME], critical_only=False)  # a reminder falls due
@example(steps=[SAME, SAME, ("silence", SUBJECTS[0], REPEAT), SAME, ("unsilence",), SAME], critical_only=False)
@example(steps=[SAME, SAME, ("resolve elsewhere", SUBJECTS[0]), SAME], critical_only=False)
@example(  # resolved, then back while silenced: each run moves its last_seen
    steps=[
        SAME,
        ("run", SUBJECTS[2:], True),
        ("run", SUBJECTS[2:], True),
        ("silence", SUBJECTS[0], REPEAT),
        SAME,
        SAME,
        SAME,
        ("wait", 60.0),
        SAME,
    ],
    critical_only=False,
)
def test_quiet_runs_change_nothing_of_what_is_stored_or_queued(tmp_path_factory, steps, critical_only):
    routes = (Route("C0ALERTS", "critical" if critical_only else "info"),)
    folder = tmp_path_factory.mktemp("histories")
    with_quiet = open_database(folder / "with.db", bot.__version__)
    without = open_database(folder / "without.db", bot.__version__)
    try:
        clock = Clock()
        remembering, judging = manager(with_quiet, clock, routes), manager(without, clock, routes)
        judging._quiet = NoQuietRuns()
        objects = {subject: finding(subject) for subject in SUBJECTS}
        silences: list[tuple[int, int]] = []
        for step in steps:
            if step[0] == "run":
                _, subjects, same_objects = step
                found = [objects[s] if same_objects else finding(s) for s in subjects]
                assert remembering.process(SYSTEM, CHECK, found) == judging.process(SYSTEM, CHECK, found)
            elif step[0] == "wait":
                clock.now += step[1]
            elif step[0] == "silence":
                _, subject, seconds = step
                ids = [
                    add_silence(each, "address", subject, "r", "U1", clock.now, clock.now + seconds).id
                    for each in (with_quiet, without)
                ]
                silences.append((ids[0], ids[1]))
            elif step[0] == "resolve elsewhere":
                for each in (with_quiet, without):
                    stored = alert(each, objects[step[1]].fingerprint)
                    if stored is not None:
                        save_alert(each, stored.with_changes(state="resolved", resolved_at=clock.now))
            elif silences:
                first, second = silences.pop()
                end_silence(with_quiet, first, clock.now)
                end_silence(without, second, clock.now)
            assert _stored(with_quiet) == _stored(without)
    finally:
        with_quiet.close()
        without.close()
