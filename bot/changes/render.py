"""Slack messages for change requests: the approval message, its Approve/Reject buttons, and its updates."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.blocks import escape_mrkdwn, slack_date, to_dicts
from storage.approvals import ChangeRequest

ACTION_APPROVE = "request_approve"
ACTION_REJECT = "request_reject"
REJECT_MODAL = "request_reject_reason"
STATE_LABEL = {
    "pending": ":hourglass_flowing_sand: Waiting for approval",
    "executing": ":gear: Running",
    "done": ":white_check_mark: Done",
    "failed": ":x: Failed",
    "rejected": ":no_entry: Rejected",
    "expired": ":alarm_clock: Expired",
    "unknown": ":warning: Outcome unknown — verify on the system",
}


def block_id(request: ChangeRequest) -> str:
    """The buttons' block carries the system, so a payload naming another system's request is caught."""
    return f"request:{request.system}:{request.id}"


def request_message(request: ChangeRequest) -> dict[str, Any]:
    lines = [
        f"*{escape_mrkdwn(request.summary)}* on *{request.system}*",
        f"Requested by <@{request.requester}>: {escape_mrkdwn(request.reason) or '_no reason given_'}",
        f"Needs {request.min_approvals} approval{'s' if request.min_approvals > 1 else ''} from approvers other "
        f"than the requester; expires {slack_date(request.expires_at)}.",
    ]
    blocks: list[Block] = [
        HeaderBlock(text=f"Change request {request.id}"),
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
    ]
    if request.commands:
        code = "\n".join(request.commands)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"```{code[:2900]}```")))
    status = STATE_LABEL.get(request.state, request.state)
    if request.state == "pending" and request.approvals:
        status += (
            f" ({len(request.approvals)} of {request.min_approvals}: "
            + ", ".join(f"<@{a}>" for a in request.approvals)
            + ")"
        )
    if request.state in ("executing", "done", "failed", "unknown") and request.decided_by:
        status += " · approved by " + ", ".join(f"<@{a}>" for a in request.decided_by)
    if request.state == "rejected" and request.decided_by:
        status += f" by <@{request.decided_by[0]}>: {escape_mrkdwn(request.rejection_reason or '')}"
    outcome = (request.outcome or {}).get("text")
    if outcome:
        status += f"\n{escape_mrkdwn(str(outcome))[:1500]}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=status[:3000])]))
    if request.state == "pending":
        blocks.append(
            ActionsBlock(
                block_id=block_id(request),
                elements=[
                    ButtonElement(
                        text="Approve",
                        action_id=ACTION_APPROVE,
                        value=request.id,
                        style="primary",
                        confirm=ConfirmObject(
                            title="Run this on IBM i?",
                            text=f"{request.summary[:250]}",
                            confirm="Approve",
                            deny="Cancel",
                        ),
                    ),
                    ButtonElement(text="Reject", action_id=ACTION_REJECT, value=request.id, style="danger"),
                ],
            )
        )
    return {
        "text": f"Change request {request.id}: {request.summary} — {STATE_LABEL.get(request.state)}",
        "blocks": to_dicts(blocks),
    }


def reply(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": to_dicts([SectionBlock(text=MarkdownTextObject(text=text[:3000]))])}


def reject_modal(request_id: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": REJECT_MODAL,
        "private_metadata": request_id,
        "title": {"type": "plain_text", "text": "Reject request"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why is it rejected?"},
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": 500},
            }
        ],
    }
