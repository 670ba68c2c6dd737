"""The render stage: an alert group's Block Kit message, its buttons, and the replies in its thread."""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.alerting.diff import REMINDER, REOPENED, RESOLVED, Change
from bot.alerting.routing import SEVERITY_RANK
from bot.checks import registry
from bot.checks.finding import Finding
from bot.slack.blocks import emphasised, escape_mrkdwn, fit, ibmi_mrkdwn, slack_date, to_dicts
from storage.alerts import AlertRecord, Silence
from storage.approvals import ChangeRequest

SEVERITY_MARK = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
MAX_SHOWN = 15  # alerts shown as blocks in one message; the rest are summarised and listed in the thread
MAX_NAMED = 60  # alerts beyond those shown whose subjects the message names
MAX_TEXT = 3000
MAX_THREAD_LINES = 400

# Buttons on alerts: what they do is read from storage by the fingerprint they carry, never from the button.
ACTION_TRACE = "alert_trace_owner"
ACTION_TRUST = "alert_trust"
ACTION_END = "alert_end_connection"
ACTION_SILENCE = "alert_silence_24h"
# The change requests an alert's buttons file, and the button of each.
REQUEST_BUTTONS = {"end-connection": ("End", ACTION_END), "trust": ("Trust", ACTION_TRUST)}
REQUEST_STATE = {
    "pending": "waiting for approval",
    "executing": "running",
    "done": "done",
    "failed": "failed",
    "rejected": "rejected",
    "expired": "expired",
    "unknown": "outcome unknown",
}
SETTLED = ("pending", "executing", "done")  # a request in these states makes its button pointless


@dataclass(frozen=True)
class AlertNotes:
    """What people did from an alert, shown on its message: the silence keeping it quiet, the latest request of
    each kind filed from its buttons."""

    silence: Silence | None = None
    requests: tuple[ChangeRequest, ...] = ()

    def lines(self) -> list[str]:
        lines = []
        if self.silence is not None:
            lines.append(
                f":zipper_mouth_face: Silenced until {slack_date(self.silence.expires_at)} "
                f"by {mention(self.silence.author)}"
            )
        for request in self.requests:
            verb = REQUEST_BUTTONS[request.action][0]
            state = REQUEST_STATE.get(request.state, request.state)
            lines.append(f"{verb} requested by {mention(request.requester)}: {request.id} · {state}")
        return lines

    def hidden(self) -> set[str]:
        """The buttons that no longer apply."""
        hidden = {ACTION_SILENCE} if self.silence is not None else set()
        return hidden | {REQUEST_BUTTONS[r.action][1] for r in self.requests if r.state in SETTLED}


NO_NOTES = AlertNotes()


def mention(actor: str) -> str:
    """A Slack user as a mention; anything else (the command line, the bot) as plain text."""
    return f"<@{actor}>" if re.fullmatch(r"[UW][A-Z0-9]{2,}", actor) else escape_mrkdwn(actor)


def _severity_order(alert: AlertRecord) -> tuple[int, float, str]:
    return -SEVERITY_RANK.get(alert.severity, 0), alert.first_seen, alert.subject


def first_by_severity(alerts: Sequence[AlertRecord], count: int) -> list[AlertRecord]:
    """The first `count` alerts, most severe first, then oldest, then by subject; the rest are not ordered (a
    group may hold thousands of alerts)."""
    return heapq.nsmallest(count, alerts, key=_severity_order)


def alert_line(alert: AlertRecord) -> str:
    mark = ":white_check_mark: ~resolved~ " if alert.state == "resolved" else SEVERITY_MARK.get(alert.severity, "")
    return f"{mark} {emphasised(alert.title)}"


def _alert_text(alert: AlertRecord, notes: AlertNotes) -> str:
    lines = [alert_line(alert)]
    lines += [ibmi_mrkdwn(str(detail)) for detail in alert.finding.get("details", [])[:6]]
    owner = alert.finding.get("facts", {}).get("owner")
    if owner:
        lines.append(f"Owner: {escape_mrkdwn(str(owner))}")
    lines += notes.lines()
    lines.append(f"_First seen {slack_date(alert.first_seen)}_")
    return fit("\n".join(lines))


def _buttons(alert: AlertRecord, notes: AlertNotes, text: str) -> ActionsBlock | None:
    """The buttons that still apply, None when none does: the address buttons only on an alert naming an address
    (facts["remote_address"]), End connection… not when its facts say the address is no longer connected. The
    block_id names the alert and a digest of what the block and its alert say, so an edit never reuses the id of a
    block whose state changed (Slack clients keep the input state of a block_id across an update)."""
    value = alert.fingerprint
    buttons = []
    facts = alert.finding.get("facts", {})
    if registry.about_address(alert.check) and facts.get("remote_address"):
        buttons += [
            ButtonElement(text="Trace owner", action_id=ACTION_TRACE, value=value),
            ButtonElement(text="Trust…", action_id=ACTION_TRUST, value=value),
        ]
        if facts.get("connected") is not False:  # False: the address has no connection left to end
            buttons.append(ButtonElement(text="End connection…", action_id=ACTION_END, value=value, style="danger"))
    buttons.append(ButtonElement(text="Silence 24h", action_id=ACTION_SILENCE, value=value))
    hidden = notes.hidden()
    buttons = [button for button in buttons if button.action_id not in hidden]
    if not buttons:
        return None
    content = json.dumps([text, [button.to_dict() for button in buttons]], sort_keys=True)
    version = hashlib.sha256(content.encode()).hexdigest()[:12]
    return ActionsBlock(block_id=f"alert:{alert.fingerprint}:{version}", elements=buttons)


def shown(alerts: Sequence[AlertRecord]) -> list[AlertRecord]:
    """The alerts a group message shows in full (with their notes and buttons)."""
    return first_by_severity(alerts, MAX_SHOWN)


def summary_text(system: str, check: str, alerts: Sequence[AlertRecord]) -> str:
    open_alerts = [a for a in alerts if a.state == "open"]
    counts = {s: sum(1 for a in open_alerts if a.severity == s) for s in ("critical", "warning", "info")}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    resolved = len(alerts) - len(open_alerts)
    state = f"{len(open_alerts)} open" + (f" ({parts})" if parts else "")
    state += f", {resolved} resolved" if resolved else ""
    return f"{system} · {check}: {state}"


def group_message(
    system: str,
    check: str,
    alerts: Sequence[AlertRecord],
    runbook_url: str | None = None,
    notes: Mapping[str, AlertNotes] | None = None,
) -> dict[str, Any]:
    """The message that carries a group of alerts of one system and check; re-rendered when they change.
    `notes`: what people did from the shown alerts (by fingerprint)."""
    ordered = first_by_severity(alerts, MAX_SHOWN + MAX_NAMED)
    rest = ordered[MAX_SHOWN:]
    more = len(alerts) - MAX_SHOWN - MAX_NAMED
    all_resolved = all(a.state == "resolved" for a in alerts)
    header = f"{'Resolved: ' if all_resolved else ''}{system} · {check}"
    blocks: list[Block] = [HeaderBlock(text=fit(header, 150))]
    for alert in ordered[:MAX_SHOWN]:
        alert_notes = (notes or {}).get(alert.fingerprint, NO_NOTES)
        text = _alert_text(alert, alert_notes)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
        buttons = _buttons(alert, alert_notes, text) if alert.state == "open" else None
        if buttons is not None:
            blocks.append(buttons)
    if rest:
        names = ", ".join(a.subject for a in rest)
        unnamed = f" and {more} more" if more > 0 else ""
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=fit(f"*{len(alerts) - MAX_SHOWN} more:* {ibmi_mrkdwn(names)}{unnamed}. Details in the thread.")
                )
            )
        )
    context = summary_text(system, check, alerts)
    if runbook_url:
        context += f" · <{runbook_url}|what to do>"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=fit(context))]))
    return {"text": summary_text(system, check, alerts), "blocks": to_dicts(blocks)}


def details_reply(alerts: Sequence[AlertRecord]) -> dict[str, Any]:
    """The thread reply listing every alert of a group that the message could not show."""
    shown = [
        f"{SEVERITY_MARK.get(a.severity, '')} {ibmi_mrkdwn(a.title)}"
        for a in first_by_severity(alerts, MAX_THREAD_LINES)
    ]
    if len(alerts) > len(shown):
        shown.append(f"…and {len(alerts) - len(shown)} more; `ibmi-warden check --json` lists them all.")
    sections = []
    chunk: list[str] = []
    for line in shown:
        if chunk and sum(len(c) + 1 for c in chunk) + len(line) > MAX_TEXT:
            sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
    if chunk:
        sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return {"text": f"All {len(alerts)} findings", "blocks": to_dicts(sections[:50])}


def _reply(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": to_dicts([SectionBlock(text=MarkdownTextObject(text=fit(text)))])}


def kind_of(alert: AlertRecord) -> str | None:
    """A system's own alert: which sickness it last reported (None for alerts stored before kinds were kept)."""
    kind = alert.finding.get("facts", {}).get("sickness")
    return kind if isinstance(kind, str) else None


def resolved_reply(alert: AlertRecord) -> dict[str, Any]:
    if alert.check == "reachability":
        again = "healthy" if kind_of(alert) in ("erroring", "not authorised") else "reachable"
        return _reply(f":white_check_mark: *{alert.system} is {again} again.*")
    return _reply(f":white_check_mark: *Resolved:* {ibmi_mrkdwn(alert.title)}")


def kind_changed_reply(finding: Finding) -> dict[str, Any]:
    """Said in the thread of a system's own alert when it is sick in another way."""
    kind = finding.facts.get("sickness", "sick")
    lines = [
        f"{SEVERITY_MARK.get(finding.severity, '')} *{finding.system} is now {kind}:* {ibmi_mrkdwn(finding.title)}"
    ]
    return _reply("\n".join(lines + [ibmi_mrkdwn(line) for line in finding.details]))


def reopened_reply(alert: AlertRecord) -> dict[str, Any]:
    return _reply(f"{SEVERITY_MARK.get(alert.severity, '')} *Back again:* {ibmi_mrkdwn(alert.title)}")


def reminder_reply(alert: AlertRecord, open_for: float) -> dict[str, Any]:
    return _reply(f":hourglass: *Still open after {_duration(open_for)}:* {ibmi_mrkdwn(alert.title)}")


def _duration(seconds: float) -> str:
    """How long, in minutes under an hour, else in hours ("30m", "24h")."""
    return f"{int(seconds // 60)}m" if seconds < 3600 else f"{int(seconds // 3600)}h"


def thread_reply(change: Change, now: float) -> dict[str, Any] | None:
    """What a change says in the threads of the messages its alert lives in, if anything."""
    if change.event == REOPENED:
        return reopened_reply(change.record)
    if change.event == REMINDER:
        return reminder_reply(change.record, now - change.record.first_seen)
    if change.event == RESOLVED:
        return resolved_reply(change.record)
    return None


def silenced_reply(alert: AlertRecord, author: str, until: float) -> dict[str, Any]:
    return _reply(f":zipper_mouth_face: Silenced by <@{author}> until {slack_date(until)}: {ibmi_mrkdwn(alert.title)}")


def unsilenced_reply(alert: AlertRecord, author: str) -> dict[str, Any]:
    return _reply(f":bell: Silence ended by <@{author}>: {ibmi_mrkdwn(alert.title)}")
