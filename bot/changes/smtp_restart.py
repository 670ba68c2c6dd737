"""What an SMTP list change means for the running server, and the change that makes it take effect.

IBM's ADDSMTPLE and RMVSMTPLE pages: list changes apply when the SMTP server next starts. So every list change
says so to the approver (before and after), and offers `smtp restart`: ENDTCPSVR then STRTCPSVR, SERVER(*SMTP).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.ibmi.cl import ClCommand, EndTcpServer, StartTcpServer

LIST_ACTIONS: tuple[str, ...] = ("smtp-add", "smtp-remove")
RESTART_ACTION = "smtp-restart"

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
    return ""
