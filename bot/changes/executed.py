"""The CL commands the bot ran on a system by approval, as its records show: what changes-behind-the-bot matches
the audit journal's CD entries against (CheckTarget.bot_commands)."""

from __future__ import annotations

from bot.checks.definition import BotCommand
from storage import approvals as store
from storage.database import Storage


def commands_run(outcome: dict[str, object] | None, commands: tuple[str, ...], state: str) -> tuple[str, ...]:
    """The commands of a request that reached the system. A refusal before running ran none; a failed request
    ran those its outcome reports (each as a line "COMMAND: result"), the failing one included; a done or
    unknown one may have run them all."""
    outcome = outcome or {}
    if outcome.get("tampered"):
        return ()
    if state != "failed":
        return commands
    lines = str(outcome.get("text", "")).splitlines()
    return tuple(command for command in commands if any(line.startswith(f"{command}: ") for line in lines))


def bot_commands(storage: Storage, system: str, since: float) -> tuple[BotCommand, ...]:
    """Each command the bot ran on the system by approval from `since` (epoch seconds) on. It ran when the
    request was claimed for execution (decided_at): the commands follow one another at once."""
    found = []
    for request in store.ran_since(storage, system, since):
        assert request.decided_at is not None  # claimed requests are decided
        for command in commands_run(request.outcome, request.commands, request.state):
            found.append(BotCommand(command, request.decided_at, request.id, request.decided_by))
    return tuple(found)
