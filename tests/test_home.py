"""The App Home dashboard: within 100 blocks whatever the size, buttons only for those who may decide."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block

from bot.slack.home_view import home_view
from bot.systems import CheckStatus, SystemStatus
from storage.alerts import AlertRecord, Silence
from storage.approvals import ChangeRequest

NOW = 1_800_000_000.0


def status(name: str, reachable: bool | None = True) -> SystemStatus:
    at = datetime.fromtimestamp(NOW - 60, UTC)
    return SystemStatus(
        name,
        "odbc",
        reachable,
        None if reachable else "[08001] Communication link failure",
        at,
        "unknown-connections",
        0.4,
        "2 findings",
        (CheckStatus("unknown-connections", at, 0.4, "2 findings"),),
    )


def alert(system: str, index: int) -> AlertRecord:
    severity = ("critical", "warning", "info")[index % 3]
    return AlertRecord(
        f"{system}{index:04d}",
        system,
        "unknown-connections",
        f"203.0.{index // 250}.{index % 250}",
        severity,
        f"1 connection from untrusted address 203.0.{index // 250}.{index % 250}",
        "open",
        NOW - 3600 * index,
        NOW,
    )


def request(number: int, requester: str = "U01OPERATOR") -> ChangeRequest:
    return ChangeRequest(
        id=f"R{number:012d}",
        system="PROD",
        action="relay-set",
        params={},
        commands=("CHGSMTPA ALWRLY(*LIST)",),
        summary="CHGSMTPA ALWRLY(*LIST)",
        requester=requester,
        reason="close the relay",
        created_at=NOW,
        expires_at=NOW + 3600,
        min_approvals=1,
        channel="C0456APPROV",
        message_key=f"request:R{number:012d}",
    )


def buttons(view: dict) -> list[str]:
    return [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_fifty_systems_a_thousand_findings_and_requests_fit_in_one_view():
    systems = [status(f"SYS{n:02d}", reachable=n % 7 != 0) for n in range(50)]
    alerts = [alert(f"SYS{n % 50:02d}", n) for n in range(1000)]
    silences = [Silence(1, "address", alerts[0].subject, "test", "U01OPERATOR", NOW, NOW + 60)]
    view = home_view(systems, alerts, silences, [request(n) for n in range(30)], lambda r: True)
    assert len(view["blocks"]) <= 100
    for block in view["blocks"]:
        Block.parse(block)
        text = block.get("text", {}).get("text", "") if isinstance(block.get("text"), dict) else ""
        assert len(text) <= 3000
    text = json.dumps(view)
    assert "SYS00" in text and "more systems not shown" in text and "/ibmi status" in text
    assert buttons(view).count("request_approve") == 10  # the first ten requests; the rest wait their turn


def test_a_small_view_names_the_oldest_findings_first_and_the_silences():
    alerts = [alert("PROD", n) for n in range(6)]
    silences = [Silence(1, "fingerprint", alerts[0].fingerprint, "test", "U01OPERATOR", NOW, NOW + 60)]
    view = home_view([status("PROD")], alerts, silences, [], lambda r: True)
    text = json.dumps(view)
    oldest = text.index(alerts[5].subject)
    assert oldest < text.index(alerts[4].subject) < text.index(alerts[3].subject)
    assert "and 3 more" in text and "1 active silence" in text and "What this bot can do" in text


def test_approval_buttons_only_for_those_who_may_decide():
    requests = [request(1), request(2, requester="U02APPROVER")]

    def approver(user: str):  # noqa: ANN202
        return lambda r: user == "U02APPROVER" and r.requester != user

    assert buttons(home_view([status("PROD")], [], [], requests, approver("U02APPROVER"))) == [
        "request_approve",
        "request_reject",
    ]
    assert buttons(home_view([status("PROD")], [], [], requests, approver("U01OPERATOR"))) == []
