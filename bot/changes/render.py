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

from bot.slack.blocks import clip_mrkdwn, code, emphasised, escape_mrkdwn, ibmi_mrkdwn, slack_date, to_dicts
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
TAMPERED_LABEL = ":rotating_light: Refused: tampered or no longer allowed — nothing ran"


def block_id(request: ChangeRequest) -> str:
    """The buttons' block carries the system, so a payload naming another system's request is caught."""
    return f"request:{request.system}:{request.id}"


MAX_MESSAGE_BLOCKS = 50  # Slack's limit for one message
MAX_SECTION_TEXT = 3000
FENCE = "```"


def _chunks(lines: list[str], limit: int, overhead: int = 0) -> list[list[str]]:
    """Lines grouped so that each group joined by newlines (plus `overhead`) fits in `limit` characters."""
    groups: list[list[str]] = [[]]
    size = overhead
    for line in lines:
        if groups[-1] and size + 1 + len(line) > limit:
            groups.append([])
            size = overhead
        size += len(line) + (1 if groups[-1] else 0)
        groups[-1].append(line)
    return [group for group in groups if group]


def _effects(request: ChangeRequest) -> list[str]:
    return [str(line) for line in request.params.get("effects", ())]


def _danger(request: ChangeRequest) -> str | None:
    danger = request.params.get("danger")
    return str(danger) if danger else None


def shown_code(request: ChangeRequest) -> list[str]:
    """The code block's lines: every CL command in full, or the trust-list change (no CL)."""
    if request.action in ("trust", "untrust"):
        return [f"{request.action} {request.params.get('network')}"]
    return list(request.commands)


def _confirm(request: ChangeRequest) -> ConfirmObject:
    effects = _effects(request)
    first = effects[0] if effects else request.summary
    danger = _danger(request)
    if request.action in ("trust", "untrust"):
        title = "Change the trust list?"
    else:
        count = len(request.commands)
        title = f"Run {count} CL command{'s' if count != 1 else ''} on {request.system}?"
    text = (f"DANGEROUS: {danger}. " if danger else "") + first
    return ConfirmObject(title=title[:100], text=clip_mrkdwn(text, 300, ibmi_mrkdwn), confirm="Approve", deny="Cancel")


def request_blocks(request: ChangeRequest) -> list[Block]:
    approvals = f"{request.min_approvals} approval{'s' if request.min_approvals > 1 else ''}"
    lines = [
        f"{summary_mrkdwn(request)} on *{escape_mrkdwn(request.system)}*",
        f"Requested by <@{request.requester}>: {escape_mrkdwn(request.reason) or '_no reason given_'}",
        f"Needs {approvals} from approvers other than the requester; expires {slack_date(request.expires_at)}.",
    ]
    blocks: list[Block] = [
        HeaderBlock(text=f"Change request {request.id}"),
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
    ]
    danger = _danger(request)
    if danger:
        warning = f":red_circle: *Dangerous*: {ibmi_mrkdwn(danger)}. It needs {approvals}."
        blocks.append(SectionBlock(text=MarkdownTextObject(text=warning[:MAX_SECTION_TEXT])))
    effects = [ibmi_mrkdwn(line) for line in _effects(request)]
    for index, group in enumerate(_chunks(effects, MAX_SECTION_TEXT, len("*What it does*\n"))):
        heading = "*What it does*\n" if index == 0 else ""
        blocks.append(SectionBlock(text=MarkdownTextObject(text=heading + "\n".join(group))))
    code = shown_code(request)
    if request.commands:
        count = len(request.commands)
        intro = f"*{count} CL command{'s' if count != 1 else ''}, each shown in full; exactly these run:*"
    else:
        intro = "*No CL runs on IBM i*; the bot's own trust list changes:"
    blocks.append(SectionBlock(text=MarkdownTextObject(text=intro)))
    for group in _chunks(code, MAX_SECTION_TEXT, 2 * len(FENCE)):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=FENCE + "\n".join(group) + FENCE)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_status(request)[:MAX_SECTION_TEXT])]))
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
                        confirm=_confirm(request),
                    ),
                    ButtonElement(text="Reject", action_id=ACTION_REJECT, value=request.id, style="danger"),
                ],
            )
        )
    return blocks


def fits(request: ChangeRequest) -> bool:
    """Whether the whole request, every command in full, fits in one Slack message (pending: with its buttons)."""
    return len(request_blocks(request)) <= MAX_MESSAGE_BLOCKS


def _status(request: ChangeRequest) -> str:
    status = STATE_LABEL.get(request.state, request.state)
    outcome = request.outcome or {}
    if outcome.get("tampered"):
        status = TAMPERED_LABEL
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
    if request.cl_digest:
        status += f" · sha256 {request.cl_digest[:16]}"
    text = outcome.get("text")
    if text:
        status += f"\n{ibmi_mrkdwn(str(text)[:1500])}"
    return status


def request_message(request: ChangeRequest) -> dict[str, Any]:
    blocks = request_blocks(request)
    label = TAMPERED_LABEL if (request.outcome or {}).get("tampered") else STATE_LABEL.get(request.state)
    fallback = f"Change request {request.id} on {request.system}: {request.summary} — {label}"
    return {"text": fallback, "blocks": to_dicts(blocks)}


def summary_mrkdwn(request: ChangeRequest) -> str:
    """What the request does in one line: its CL command in a code span, else its words (in bold when they hold
    no IBM i value)."""
    return code(request.summary) if request.summary in request.commands else emphasised(request.summary)


# How a finished request's state reads after "Request R…" or "Approved; R…".
STATE_WORDS = {
    "done": "ran and is done",
    "failed": "ran and failed",
    "unknown": "ran with an unknown outcome (verify on the system)",
    "executing": "is running",
    "rejected": "was rejected",
    "expired": "expired",
    "pending": "is waiting for approval",
}


def state_words(state: str) -> str:
    return STATE_WORDS.get(state, f"is {state}")


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
