"""The `/ibmi` sub-commands: one module each in this package, each declaring `COMMAND`, a `SubCommand`.

They are discovered, not listed: a new sub-command is one new module here, and help, usage errors, the role
refusal and the dispatch pick it up.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from bot.command_parsing import ParsedCommand, read_command
from handlers.sub_command import SubCommand


def discover(package: ModuleType) -> tuple[SubCommand[Any], ...]:
    """The `COMMAND` of every module in the package, in their declared order."""
    found: list[SubCommand[Any]] = []
    for module in pkgutil.iter_modules(package.__path__):
        command = importlib.import_module(f"{package.__name__}.{module.name}").COMMAND
        if not isinstance(command, SubCommand):
            raise TypeError(f"{package.__name__}.{module.name}.COMMAND is not a SubCommand")
        found.append(command)
    names = [command.name for command in found]
    if len(set(names)) != len(names):
        raise ValueError(f"two sub-commands share a name in {package.__name__}: {sorted(names)}")
    return tuple(sorted(found, key=lambda command: (command.order, command.name)))


SUB_COMMANDS = discover(sys.modules[__name__])


def parse_command_text(
    text: str, systems: list[str], slash: str = "/ibmi", sub_commands: Sequence[SubCommand[Any]] = SUB_COMMANDS
) -> ParsedCommand:
    """Raises UsageError with a message fit for the user when the text is not a valid command."""
    return read_command(text, systems, slash, sub_commands)


def usage_of(name: str, slash: str, sub_commands: Sequence[SubCommand[Any]] = SUB_COMMANDS) -> str:
    """The usage line of a declared sub-command, e.g. "/ibmi audit [N]"."""
    return next(f"{slash} {command.usage}" for command in sub_commands if command.name == name)
