"""How a `/ibmi` sub-command is declared: `SubCommand`, what its ack and answer see (`Invocation`) and what
they give back (`Reply`).

A declaration names the sub-command, its usage and example (shown by `/ibmi help` and in usage errors), the
role it needs, whether it acts on one system, the grammar that parses it (in `bot.command_parsing.grammar`), an
`ack` that answers within Slack's 3 seconds and, when there is slow work, an `answer` run on the work pool and
sent through response_url. The dispatcher (`handlers.slash_command`) does the rest the same way for all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.command_parsing import Arguments, ParsedCommand, Request
from bot.slack import blocks
from handlers.gate import Role
from handlers.ports import HandlerServices

R = TypeVar("R", bound=Request | None)


@dataclass(frozen=True)
class Reply:
    """What the user is shown (`text` is the notification fallback of `blocks`). From an ack, `answer_follows`
    says the declaration's answer comes next from the work pool, and `modal` is a form to open instead."""

    text: str
    blocks: list[dict[str, Any]]
    answer_follows: bool = False
    modal: dict[str, Any] | None = None


def say(text: str) -> Reply:
    return Reply(text, blocks.text_blocks(text))


def working(text: str) -> Reply:
    """An ack saying what is being done; the answer follows."""
    return Reply(text, blocks.text_blocks(text), answer_follows=True)


def open_form(view: dict[str, Any]) -> Reply:
    """An empty ack, once the form is open (or the reason it could not be opened)."""
    return Reply("", [], modal=view)


@dataclass(frozen=True)
class Invocation(Generic[R]):
    """One use of a sub-command by one user, as its ack and answer see it."""

    parsed: ParsedCommand
    request: R
    user: str
    slash: str
    services: HandlerServices
    sub_commands: Sequence[SubCommand[Any]]  # every declared one, for help
    channel: str = ""  # where it was typed: a form it opens answers there

    @property
    def system(self) -> str:
        """The chosen system; "" for sub-commands that need none."""
        return self.parsed.system or ""


@dataclass(frozen=True)
class SubCommand(Generic[R]):
    name: str
    usage: str  # after the slash command, e.g. "netstat [SYSTEM] [--port N]"
    example: str
    summary: str
    required_role: Role | Callable[[R], Role]  # a function when the role depends on what is asked
    needs_system: bool  # True: acts on one system, the only one configured when none is named
    parse: Callable[[Arguments], R]
    ack: Callable[[Invocation[R]], Reply]
    answer: Callable[[Invocation[R]], Reply] | None = None
    order: int = 1000  # its place in /ibmi help and in the list of sub-commands
    available: bool = True

    def role_for(self, request: R) -> Role:
        return self.required_role(request) if callable(self.required_role) else self.required_role
