"""The route and group stages: which channels take an alert, and one message per system, check and channel.

A route takes alerts of at least its `min_severity`. An alert no route takes is tracked but not announced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.alerting.diff import NEW, REPORTED, UNROUTED, Change
from bot.config import Route
from storage.alerts import AlertRecord

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Group:
    """New alerts of one system and check that go out as one message in one channel."""

    system: str
    check: str
    channel: str
    alerts: tuple[AlertRecord, ...]


def takes(route: Route, severity: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[route.min_severity]


def route(changes: Sequence[Change], routes: Sequence[Route]) -> list[Change]:
    """Reported alerts that no route takes become UNROUTED."""
    lowest = min((SEVERITY_RANK[r.min_severity] for r in routes), default=None)  # the least a route takes
    return [
        replace(change, event=UNROUTED)
        if change.event in REPORTED and (lowest is None or SEVERITY_RANK[change.record.severity] < lowest)
        else change
        for change in changes
    ]


def group(system: str, check: str, changes: Sequence[Change], routes: Sequence[Route]) -> list[Group]:
    """The run's NEW alerts, one group per route that takes any of them, in the order of the routes."""
    new = [change.record for change in changes if change.event == NEW]
    groups = []
    for each in routes:
        routed = tuple(record for record in new if takes(each, record.severity))
        if routed:
            groups.append(Group(system, check, each.channel, routed))
    return groups
