"""The state checks judge a run only when what they read differs from their last run on that system, and a finding
kept from the run before is told equal to its stored form without comparing it again."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest

import bot.checks.plaintext_services as plaintext_services
import bot.checks.splctl_exposure as splctl_exposure
import bot.checks.unknown_connections as unknown_connections
from bot.checks.definition import CheckTarget, Readings
from bot.checks.finding import Finding
from bot.checks.plaintext_services import DEFAULT_SETTINGS as PLAINTEXT_DEFAULTS
from bot.checks.sources import JOBCTL_HOLDERS, NETSTAT, NETSTAT_JOBS, OUTPUT_QUEUES, SPLCTL_HOLDERS
from bot.checks.splctl_exposure import SplctlSettings
from tests.netstat_rows import LISTEN, row
from tests.test_splctl_exposure import QSECOFR, QSYSOPR, outq, user

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"),)


def netstat_readings(*remotes: str) -> Readings:
    return Readings({NETSTAT.name: [LISTEN, *(row(remote) for remote in remotes)], NETSTAT_JOBS.name: []})


def splctl_readings(*holders: str) -> Readings:
    profiles = [QSECOFR, *(user(name, special="*SPLCTL") for name in holders)]
    queues = [outq(name="PAYROLL", dspdta="*YES", public="*USE")]
    return Readings({SPLCTL_HOLDERS.name: profiles, OUTPUT_QUEUES.name: queues, JOBCTL_HOLDERS.name: [QSYSOPR]})


# check module, readings with a finding, the same with another one, its settings, other settings
CASES = {
    "unknown-connections": (
        unknown_connections,
        lambda: netstat_readings("203.0.113.9"),
        lambda: netstat_readings("203.0.113.9", "198.51.100.7"),
        None,
        None,
    ),
    "plaintext-services": (
        plaintext_services,
        lambda: netstat_readings("203.0.113.9"),
        lambda: netstat_readings("203.0.113.9", "198.51.100.7"),
        PLAINTEXT_DEFAULTS,
        None,
    ),
    "splctl-exposure": (
        splctl_exposure,
        lambda: splctl_readings("JSMITH"),
        lambda: splctl_readings("JSMITH", "AJONES"),
        SplctlSettings(),
        SplctlSettings(allowed_holders=("QSECOFR", "JSMITH")),
    ),
}


class CountingJudge:
    def __init__(self, judge: Callable[..., list[Finding]]):
        self.judge = judge
        self.calls = 0

    def __call__(self, *arguments: Any) -> list[Finding]:
        self.calls += 1
        return self.judge(*arguments)


@pytest.mark.parametrize("check_id", list(CASES))
def test_a_run_reading_what_the_last_run_read_is_not_judged_again(
    check_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, readings, changed, settings, other_settings = CASES[check_id]
    judge = CountingJudge(module.evaluate)
    monkeypatch.setattr(module, "evaluate", judge)
    system = f"MEMO-{check_id}"
    target = CheckTarget(system, trusted=TRUSTED)

    first = module.CHECK.evaluate(readings(), target, settings)
    assert first and judge.calls == 1
    again = module.CHECK.evaluate(readings(), target, settings)  # equal rows, read anew
    assert again == first and all(a is b for a, b in zip(again, first, strict=True)) and judge.calls == 1

    grown = module.CHECK.evaluate(changed(), target, settings)
    assert grown != first and judge.calls == 2
    module.CHECK.evaluate(changed(), CheckTarget(f"{system}-2", trusted=TRUSTED), settings)
    assert judge.calls == 3  # another system keeps its own last run
    if other_settings is not None:
        module.CHECK.evaluate(changed(), target, other_settings)
    else:  # these checks judge by the trusted networks
        module.CHECK.evaluate(
            changed(), CheckTarget(system, trusted=(*TRUSTED, ipaddress.ip_network("203.0.113.0/24"))), settings
        )
    assert judge.calls == 4


def test_a_finding_remembers_its_stored_form_and_still_compares_any_other() -> None:
    finding = Finding("DEMO", "unknown-connections", "warning", "203.0.113.9", "t", ("d",), {"count": 2})
    stored = finding.to_stored()
    assert stored == finding.to_json() and finding.is_stored_as(stored)

    equal_copy = {**stored, "details": ["d"], "facts": {"count": 2}}
    assert finding.is_stored_as(equal_copy)
    assert not finding.is_stored_as({**stored, "title": "other"})
    assert not finding.is_stored_as({**stored, "facts": {"count": 3}})
    other = Finding("DEMO", "unknown-connections", "warning", "203.0.113.9", "t", ("d",), {"count": 3})
    assert not other.is_stored_as(stored)
