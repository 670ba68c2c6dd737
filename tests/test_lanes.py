"""Scheduling that never drops a run, and one lane per system: the schedule only puts due runs in the system's
lane; a run due while the same one still waits is merged into it; a slow or hung system delays only itself.
Time is a manual clock; the tests wait on events, never on the clock."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot.check_schedule import CheckSchedule
from bot.checks import registry
from bot.config import Config, SchedulerSettings, Secrets, load_config
from bot.lanes import Lanes, LanesStopped, SystemBusy
from bot.slack.blocks import status_line
from bot.wiring import build_bot
from storage.check_runs import last_runs
from tests.conftest import demo_settings
from tests.test_cli import write_config

WAIT = 30.0  # seconds an event may take before a test fails; never slept


class ManualClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeChecks:
    """Checks whose runs are counted; a system in `hung` blocks until released."""

    def __init__(self, groups: dict[float, list[str]], hung: Sequence[str] = ()) -> None:
        self.groups = groups
        self.hung = set(hung)
        self.release = threading.Event()
        self.runs: Counter[str] = Counter()
        self.lateness: dict[str, list[float]] = {}
        self.ran = threading.Condition()

    def check_groups(self, system: str) -> dict[float, list[str]]:
        return self.groups

    def run_checks(self, system: str, checks: Sequence[str], lateness: float | None = None) -> object:
        if system in self.hung:
            self.release.wait(WAIT)
        with self.ran:
            self.runs[system] += 1
            self.lateness.setdefault(system, []).append(lateness or 0.0)
            self.ran.notify_all()
        return {}

    def wait_for_runs(self, system: str, count: int) -> None:
        with self.ran:
            assert self.ran.wait_for(lambda: self.runs[system] >= count, WAIT), (system, self.runs[system], count)


def test_four_hung_systems_do_not_reduce_a_healthy_systems_runs() -> None:
    clock = ManualClock()
    checks = FakeChecks({10.0: ["unknown-connections"]}, hung=["H1", "H2", "H3", "H4"])
    # a hung system holds its place until its deadline: four of the five places scheduled runs may take
    lanes = Lanes(["H1", "H2", "H3", "H4", "PROD"], max_parallel=6, max_waiting=5, clock=clock)
    schedule = CheckSchedule(["H1", "H2", "H3", "H4", "PROD"], checks, lanes, spread=lambda _interval: 0.0)
    try:
        for tick in range(1, 11):  # 100 s of a 10 s interval
            schedule.tick()
            checks.wait_for_runs("PROD", tick)
            clock.now += 10.0
        assert checks.runs["PROD"] == 10
        assert all(lanes.waiting(system) == 1 for system in ("H1", "H2", "H3", "H4"))  # merged, not piled up
        checks.release.set()
        for system in ("H1", "H2", "H3", "H4"):
            checks.wait_for_runs(system, 2)  # the hung run, then the merged one: none dropped
    finally:
        checks.release.set()
        lanes.stop(WAIT)


def test_a_run_due_while_the_system_is_busy_runs_once_when_it_is_free_and_says_how_late(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    checks = FakeChecks({300.0: ["unknown-connections"]})
    lanes = Lanes(["SLOW"], max_parallel=2, max_waiting=5, clock=clock)
    schedule = CheckSchedule(["SLOW"], checks, lanes, spread=lambda _interval: 0.0)
    busy, started = threading.Event(), threading.Event()
    lanes.submit("SLOW", "netstat", lambda: (started.set(), busy.wait(WAIT)))
    try:
        assert started.wait(WAIT)
        due = clock.now
        with caplog.at_level(logging.WARNING):
            schedule.tick()
            clock.now += 300.0
            schedule.tick()  # due again while the first still waits
            clock.now += 5.0
            busy.set()
            checks.wait_for_runs("SLOW", 1)
        assert checks.lateness["SLOW"] == [clock.now - due]  # 305 s late: as late as the first due run
        assert lanes.waiting("SLOW") == 0
        said = caplog.text
        assert "SLOW/unknown-connections due again while its last due run still waits" in said
        assert "SLOW/unknown-connections: 1 more due run(s) merged into one, 305.0s late" in said
        assert "SLOW/unknown-connections started 305.0s late" in said
    finally:
        busy.set()
        lanes.stop(WAIT)


def test_a_full_lane_refuses_commands_with_how_many_wait_but_never_a_scheduled_run() -> None:
    clock = ManualClock()
    lanes = Lanes(["SLOW", "PROD"], max_parallel=4, max_waiting=3, clock=clock)
    release, started, prod = threading.Event(), threading.Event(), threading.Event()
    lanes.submit("SLOW", "netstat", lambda: (started.set(), release.wait(WAIT)))
    try:
        assert started.wait(WAIT)
        for _ in range(3):
            lanes.submit("SLOW", "netstat", lambda: None)
        with pytest.raises(SystemBusy, match=r"^SLOW is busy \(3 waiting\)"):
            lanes.submit("slow", "netstat", lambda: None)
        assert str(lanes.busy("SLOW")).startswith("SLOW is busy (3 waiting)")
        assert lanes.schedule("SLOW", "unknown-connections", clock.now, lambda _lateness: None)
        lanes.submit("PROD", "netstat", prod.set)
        assert prod.wait(WAIT)  # PROD answers while SLOW is stuck
        assert lanes.busy("PROD") is None
    finally:
        release.set()
        lanes.stop(WAIT)


def test_parallelism_across_systems_is_bounded_and_each_system_gets_its_turn() -> None:
    clock = ManualClock()
    lanes = Lanes([f"S{i}" for i in range(6)], max_parallel=2, max_waiting=5, clock=clock)  # commands: both
    running, most, lock = [0], [0], threading.Lock()
    gate = threading.Barrier(2, timeout=WAIT)  # two run together, never more
    done = threading.Semaphore(0)

    def job() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        gate.wait()
        with lock:
            running[0] -= 1
        done.release()

    for i in range(6):
        lanes.submit(f"S{i}", "job", job)
    try:
        for _ in range(6):
            assert done.acquire(timeout=WAIT)
        assert most[0] == 2
    finally:
        lanes.stop(WAIT)


def test_a_command_goes_before_the_scheduled_runs_and_has_a_worker_kept_for_it() -> None:
    clock = ManualClock()
    lanes = Lanes(["S1", "S2", "PROD"], max_parallel=2, max_waiting=5, clock=clock)
    release, order = threading.Event(), []
    started = threading.Semaphore(0)

    def hold(name: str) -> None:
        order.append(name)
        started.release()
        release.wait(WAIT)

    answered = threading.Event()
    try:
        lanes.schedule("S1", "checks", clock.now, lambda _: hold("S1 checks"))
        assert started.acquire(timeout=WAIT)
        lanes.schedule("S2", "checks", clock.now, lambda _: hold("S2 checks"))  # waits: one worker is kept
        lanes.schedule("PROD", "checks", clock.now, lambda _: order.append("PROD checks"))
        lanes.submit("PROD", "netstat", lambda: (order.append("PROD netstat"), answered.set()))
        assert answered.wait(WAIT)  # before the scheduled runs waiting for a worker, its own included
        assert order == ["S1 checks", "PROD netstat"]
        assert lanes.waiting("S2") == 1 and lanes.waiting("PROD") == 1
    finally:
        release.set()
        lanes.stop(WAIT)


def test_a_stopped_lane_accepts_nothing_and_drops_what_waits() -> None:
    lanes = Lanes(["SLOW"], max_parallel=1, max_waiting=5)
    release, started, dropped = threading.Event(), threading.Event(), threading.Event()
    lanes.submit("SLOW", "hung", lambda: (started.set(), release.wait(WAIT)))
    lanes.submit("SLOW", "next", dropped.set)
    assert started.wait(WAIT)
    assert lanes.stop(WAIT, abandon=release.set)  # the running one gives up when abandoned
    assert not dropped.is_set()
    with pytest.raises(LanesStopped):
        lanes.submit("SLOW", "netstat", lambda: None)


# --- the real bot: 50 demo systems, the real CheckRunner, lateness in storage and /ibmi status ------------


def fleet_config(folder: Path, systems: int, parallel: int) -> Config:
    config = load_config(write_config(folder), env={})
    fleet = tuple(demo_settings(folder / f"demo-{i}", name=f"S{i:02d}") for i in range(systems))
    return replace(
        config,
        systems=fleet,
        storage=replace(config.storage, path=folder / "warden.db"),
        scheduler=SchedulerSettings(max_parallel_systems=parallel),
    )


def test_after_start_every_system_and_check_pair_of_50_demo_systems_runs(tmp_path: Path) -> None:
    config = fleet_config(tmp_path, 50, parallel=4)
    bot = build_bot(config, Secrets(slack_bot_token="xoxb-test"))
    clock = ManualClock()
    lanes = Lanes(bot.systems.names(), max_parallel=4, max_waiting=5, clock=clock)
    finished = threading.Semaphore(0)

    class Counted:
        def check_groups(self, system: str) -> dict[float, list[str]]:
            return bot.checks.check_groups(system)

        def run_checks(self, system: str, checks: Sequence[str], lateness: float | None = None) -> object:
            try:
                return bot.checks.run_checks(system, checks, lateness=lateness)
            finally:
                finished.release()

    try:
        schedule = CheckSchedule(bot.systems.names(), Counted(), lanes, spread=lambda _interval: 0.0)
        clock.now += 1.0
        schedule.tick()
        for _ in schedule.entries:
            assert finished.acquire(timeout=WAIT)
        runs = last_runs(bot.storage)
        expected = {(s, c) for s in bot.systems.names() for c in bot.checks.enabled_checks(s)}
        assert len(expected) == 50 * len(registry.check_ids()) and set(runs) == expected
        assert {run.lateness for run in runs.values()} == {1.0}
        [status] = [s for s in bot.systems.statuses() if s.name == "S07"]
        assert "(1s late)" in status_line(status)
    finally:
        lanes.stop(WAIT)
        bot.close()


def test_check_runs_systems_in_parallel_up_to_the_bound(tmp_path: Path) -> None:
    """`ibmi-warden check`: four systems whose first statement waits until all four have started end only if
    they run at once."""
    config = fleet_config(tmp_path, 4, parallel=4)
    bot = build_bot(config, Secrets(slack_bot_token="xoxb-test"))
    together = threading.Barrier(4, timeout=WAIT)
    for name in bot.systems.names():
        connection = bot.systems.connection(name)
        query = connection.query
        first = threading.Event()

        def waiting_query(statement: str, params: Sequence[object] = (), _q=query, _first=first) -> list[dict]:
            if not _first.is_set():
                _first.set()
                together.wait()
            return _q(statement, params)

        connection.query = waiting_query  # type: ignore[method-assign]
    try:
        result = bot.checks.run_cycle()
        assert not result.errors
        assert {f.system for f in result.findings} == set(bot.systems.names())
    finally:
        bot.close()


def test_the_scheduler_settings_are_read_and_wrong_ones_named(tmp_path: Path) -> None:
    from bot.config import ConfigError

    config = load_config(write_config(tmp_path, **{"# max_parallel_systems = 16": "max_parallel_systems = 40"}), env={})
    assert config.scheduler == SchedulerSettings(max_parallel_systems=40, max_waiting=5)
    wrong = write_config(tmp_path, **{"# max_waiting = 5": "max_waiting = 0"})
    with pytest.raises(ConfigError, match=r"scheduler\.max_waiting: 0 is out of range; expected a whole number from 1"):
        load_config(wrong, env={})
