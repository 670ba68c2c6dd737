"""The App Home dashboard: a banner per channel whose Slack messages are parked (with the fix), every system's
state, open findings, silences, and the change requests the viewer may decide — within Slack's 100 blocks per
view, however many systems and findings there are. `HomeView` reads them from storage for one user; `home_view`
lays them out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.alerting.render import SEVERITY_MARK
from bot.alerting.routing import SEVERITY_RANK
from bot.changes import render
from bot.slack.blocks import escape_mrkdwn, fit, health_counts, ibmi_mrkdwn, status_line, text_blocks
from bot.slack.parking import fix_for
from bot.slack.roles import Roles
from bot.systems import Systems, SystemStatus
from storage import Storage
from storage.alerts import AlertRecord, Silence, active_silences, open_alerts
from storage.approvals import ChangeRequest
from storage.approvals import pending as pending_requests
from storage.outbox import ParkedChannel, parked_channels

MAX_VIEW_BLOCKS = 100
MAX_REQUESTS = 10  # each takes its approval message's blocks: every command in full, and its buttons
MAX_DECISION_BLOCKS = 60  # requests beyond this are decided in the approvals channel
MAX_NAMED_FINDINGS = 3  # per system, oldest first
MAX_PARKED_BANNERS = 5  # channels whose messages wait on an error a person must fix
FOOTER = (
    "*What this bot can do:* scheduled checks post alerts; `/ibmi netstat`, `trace`, `smtp list` show; "
    "`/ibmi end`, `smtp add|remove`, `relay set`, `trust` request changes that another person approves; "
    "`/ibmi help` lists everything."
)


def _system_text(status: SystemStatus, alerts: Sequence[AlertRecord], silences: Sequence[Silence]) -> str:
    counts = {s: sum(1 for a in alerts if a.severity == s) for s in ("critical", "warning", "info")}
    findings = ", ".join(f"{SEVERITY_MARK[s]} {n} {s}" for s, n in counts.items() if n) or "no open findings"
    oldest = sorted(alerts, key=lambda a: (a.first_seen, -SEVERITY_RANK.get(a.severity, 0)))[:MAX_NAMED_FINDINGS]
    lines = [status_line(status), findings]
    lines += [f"• {ibmi_mrkdwn(a.title)}" for a in oldest]
    if len(alerts) > len(oldest):
        lines.append(f"…and {len(alerts) - len(oldest)} more")
    if silences:
        lines.append(f":zipper_mouth_face: {len(silences)} active silence{'s' if len(silences) > 1 else ''}")
    return fit("\n".join(lines))


def _silences_of(alerts: Sequence[AlertRecord], silences: Sequence[Silence]) -> list[Silence]:
    matchers = {a.subject for a in alerts} | {a.fingerprint for a in alerts}
    return [s for s in silences if s.matcher in matchers]


def _parked_banner(channel: ParkedChannel) -> SectionBlock:
    text = (
        f":warning: *{channel.waiting} Slack message(s) for {escape_mrkdwn(channel.channel)} are waiting*, alerts "
        f"included: Slack answered `{escape_mrkdwn(channel.error)}`. "
        f"Fix: {escape_mrkdwn(fix_for(channel.error, channel.channel))}"
    )
    return SectionBlock(text=MarkdownTextObject(text=fit(text)))


def home_view(
    statuses: Sequence[SystemStatus],
    open_alerts: Sequence[AlertRecord],
    silences: Sequence[Silence],
    requests: Sequence[ChangeRequest],
    may_decide: Callable[[ChangeRequest], bool],
    parked: Sequence[ParkedChannel] = (),
) -> dict[str, Any]:
    decidable: list[ChangeRequest] = []
    decision_blocks: list[dict[str, Any]] = []
    for request in [r for r in requests if may_decide(r)][:MAX_REQUESTS]:
        request_blocks = render.request_message(request)["blocks"]  # every command in full, or not at all
        if len(decision_blocks) + len(request_blocks) > MAX_DECISION_BLOCKS:
            break
        decidable.append(request)
        decision_blocks += request_blocks
    # header, a summary line, the divider and footer, and a header over the requests when there are any
    banners = [_parked_banner(channel) for channel in parked[:MAX_PARKED_BANNERS]]
    room = MAX_VIEW_BLOCKS - 4 - len(banners) - len(decision_blocks) - (2 if decidable else 0)
    blocks: list[Block] = [HeaderBlock(text="IBM i systems"), *banners]
    shown, hidden = statuses[: max(room, 1)], statuses[max(room, 1) :]
    for status in shown:
        alerts = [a for a in open_alerts if a.system == status.name]
        text = _system_text(status, alerts, _silences_of(alerts, silences))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    summary = f"{len(open_alerts)} open findings, {len(silences)} active silences."
    if hidden:
        names = {s.name for s in hidden}
        summary += (
            f" {len(hidden)} more systems not shown ({health_counts(hidden)}, "
            f"{sum(1 for a in open_alerts if a.system in names)} open findings): `/ibmi status` lists them."
        )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=summary)]))
    dicts = [block.to_dict() for block in blocks]
    if decidable:
        dicts += [DividerBlock().to_dict(), HeaderBlock(text="Waiting for your decision").to_dict()]
        dicts += decision_blocks
    dicts += [DividerBlock().to_dict(), ContextBlock(elements=[MarkdownTextObject(text=FOOTER)]).to_dict()]
    view = View(type="home", blocks=dicts)
    view.validate_json()  # slack_sdk checks the 100-block limit of a view
    return view.to_dict()


class HomeView:
    """The App Home view for one user: only the change requests they may decide get buttons."""

    def __init__(self, storage: Storage, systems: Systems, roles: Roles, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.systems = systems
        self.roles = roles
        self.clock = clock

    def view(self, user_id: str) -> dict[str, Any]:
        if not self.roles.is_viewer(user_id):
            return {"type": "home", "blocks": text_blocks("Only viewers may see the state of the IBM i systems.")}
        now = self.clock()

        def may_decide(request: ChangeRequest) -> bool:
            return (
                request.requester != user_id
                and self.roles.is_approver(user_id, request.action)
                and request.expires_at > now
            )

        return home_view(
            self.systems.statuses(),
            open_alerts(self.storage),
            active_silences(self.storage, now),
            pending_requests(self.storage),
            may_decide,
            parked_channels(self.storage),
        )
