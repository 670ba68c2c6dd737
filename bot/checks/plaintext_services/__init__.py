"""plaintext-services: established connections to IBM i services on their plaintext (non-TLS) ports.

The check's declaration; its settings are in `settings.py`, the judgement in `rules.py`, what to do
about a finding in `runbook.md`.
"""

from __future__ import annotations

from pathlib import Path

from bot.checks.definition import CheckDefinition, CheckTarget, Readings
from bot.checks.finding import Finding
from bot.checks.memo import SameInput
from bot.checks.plaintext_services.rules import CHECK_ID, Peer, cannot_see, evaluate, remote_peer
from bot.checks.plaintext_services.settings import DEFAULT_PORTS, DEFAULT_SETTINGS, PlaintextPort, PlaintextSettings
from bot.checks.sources import NETSTAT
from bot.net import TrustList

__all__ = [
    "CHECK",
    "CHECK_ID",
    "DEFAULT_PORTS",
    "DEFAULT_SETTINGS",
    "Peer",
    "PlaintextPort",
    "PlaintextSettings",
    "cannot_see",
    "evaluate",
    "remote_peer",
]


_LAST_RUN = SameInput()


def evaluate_readings(readings: Readings, target: CheckTarget, settings: PlaintextSettings) -> list[Finding]:
    inputs = (readings.as_read(NETSTAT.name), target.trusted, settings)
    return _LAST_RUN.findings(target.name, inputs, lambda: _judge(readings, target, settings))


def _judge(readings: Readings, target: CheckTarget, settings: PlaintextSettings) -> list[Finding]:
    problem = readings.problem(NETSTAT.name)
    if problem is not None:
        return [cannot_see(target.name, problem)]
    return evaluate(target.name, readings.value(NETSTAT.name), TrustList(target.trusted), settings)


CHECK = CheckDefinition(
    id=CHECK_ID,
    title="Connections to plaintext (non-TLS) service ports",
    default_interval=300.0,
    sources=(NETSTAT,),
    evaluate=evaluate_readings,
    folder=Path(__file__).parent,
    settings_type=PlaintextSettings,
    order=20,
)
