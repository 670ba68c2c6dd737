"""What an SMTP list change means for the running server, and the change that makes it take effect.

IBM's ADDSMTPLE and RMVSMTPLE pages: list changes apply when the SMTP server next starts. So every list change
says so to the approver (before and after), and offers `smtp restart`: ENDTCPSVR then STRTCPSVR, SERVER(*SMTP).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.checks.definition import ApprovedSmtpChanges
from bot.ibmi.cl import ClCommand, EndTcpServer, StartTcpServer, parse
from storage import approvals as store
from storage.database import Storage

LIST_ACTIONS: tuple[str, ...] = ("smtp-add", "smtp-remove")
RESTART_ACTION = "smtp-restart"
RELAY_ACTION = "relay-set"

PENDING_EFFECT = (
    "The running SMTP server keeps its current lists: list changes apply when SMTP next starts "
    "(restart it with `/ibmi smtp restart`)."
)
RESTART_EFFECTS: tuple[str, ...] = (
    "Ends the SMTP server jobs (ENDTCPSVR SERVER(*SMTP)): no mail is received until they start again.",
    "Starts the SMTP server (STRTCPSVR SERVER(*SMTP)), which reads the SMTP lists as it starts: "
    "every approved list change takes effect.",
)


def restart_commands() -> list[ClCommand]:
    """The commands of an SMTP restart, in the order they run."""
    return [EndTcpServer.build(), StartTcpServer.build()]


def is_restart(commands: Sequence[ClCommand]) -> bool:
    return [type(command) for command in commands] == [EndTcpServer, StartTcpServer]


def done_note(action: str, system: str) -> str:
    """What the approver is told after a change succeeded, beyond the commands' results ("" for most changes)."""
    if action in LIST_ACTIONS:
        return (
            f"The SMTP server on {system} must restart before this list change takes effect: "
            f"request it with `/ibmi smtp restart @{system}`."
        )
    if action == RESTART_ACTION:
        return f"The SMTP server on {system} restarted: the approved list changes are in effect."
    if action == RELAY_ACTION:
        return (
            f"ibmi-warden now knows the relay policy of {system} (this approval, recorded) until an attestation "
            "or the relay probe contradicts it."
        )
    return ""


def approved_smtp_changes(storage: Storage, system: str) -> ApprovedSmtpChanges:
    """What the smtp-relay check is told of the system's approved SMTP changes: the relay policy the last
    successful `relay set` set (with its approvers and time), and when the SMTP lists last changed."""
    relay = store.last_done(storage, system, (RELAY_ACTION,))
    listed = store.last_done(storage, system, LIST_ACTIONS)
    policy = None
    if relay is not None and relay.commands:
        command = parse(relay.commands[0])
        policy = getattr(command, "allow_relay", None)
    return ApprovedSmtpChanges(
        relay_policy=policy,
        relay_set_by=relay.decided_by if relay and policy else (),
        relay_set_at=relay.decided_at if relay and policy else None,
        list_changed_at=listed.decided_at if listed else None,
    )
