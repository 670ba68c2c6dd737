"""The changes-behind-the-bot check's id and its [checks.changes-behind-the-bot] settings, validated as built."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.checks.audit_journal.judging import check_journal_options
from bot.checks.definition import DURATION_OPTION
from bot.checks.splctl_exposure import SplctlSettings

CHECK_ID = "changes-behind-the-bot"

WATCHED_COMMANDS = ("CHGSMTPA", "ADDSMTPLE", "RMVSMTPLE", "ENDTCPCNN")
OUTQ_COMMANDS = ("CHGOUTQ", "CLROUTQ", "DLTOUTQ", "GRTOBJAUT", "RVKOBJAUT", "EDTOBJAUT", "CHGOBJOWN")
_COMMAND_NAME = re.compile(r"[A-Z][A-Z0-9]{0,9}")


def setting_error(key: str, message: str) -> ValueError:
    return ValueError(f"{key}: {message}")


def _commands(key: str, values: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise setting_error(key, f"expected a list of CL command names, not {values!r}")
    names = []
    for value in values:
        name = value.strip().upper() if isinstance(value, str) else ""
        if not _COMMAND_NAME.fullmatch(name):
            raise setting_error(key, f"{value!r} is not a CL command name (a letter, then up to 9 letters or digits)")
        names.append(name)
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class ChangesSettings:
    """The [checks.changes-behind-the-bot] settings.

    window: seconds of CD entries judged (a command stays reported this long after it ran).
    max_entries: CD entries read at most per cycle; a backlog is caught up over the following cycles.
    tolerance: seconds between when the bot ran a command and the CD entry of the same command for the entry to be
      taken as the bot's own run.
    commands: the commands reported whoever runs them outside the bot.
    outq_commands: the commands reported when they name an output queue matching sensitive_queues.
    sensitive_queues: output queue patterns; not set: splctl-exposure's sensitive_queues.
    report_approved: true: a command matched to the bot's approved run is an info finding naming the request.
    """

    window: float = field(default=86400.0, metadata=DURATION_OPTION)
    max_entries: int = 10_000
    tolerance: float = field(default=300.0, metadata=DURATION_OPTION)
    commands: tuple[str, ...] = WATCHED_COMMANDS
    outq_commands: tuple[str, ...] = OUTQ_COMMANDS
    sensitive_queues: tuple[str, ...] | None = None
    report_approved: bool = True

    def __post_init__(self) -> None:
        check_journal_options(self.window, self.max_entries)
        tolerance = self.tolerance
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 < tolerance <= 3600:
            raise setting_error("tolerance", f"{tolerance!r} is not a duration above 0 and at most 1h")
        object.__setattr__(self, "commands", _commands("commands", self.commands))
        object.__setattr__(self, "outq_commands", _commands("outq_commands", self.outq_commands))
        if self.sensitive_queues is not None:
            try:
                queues = SplctlSettings(sensitive_queues=self.sensitive_queues).sensitive_queues
            except ValueError as error:
                raise setting_error("sensitive_queues", str(error).removeprefix("sensitive_queues ")) from None
            object.__setattr__(self, "sensitive_queues", queues)
        if not isinstance(self.report_approved, bool):
            raise setting_error("report_approved", f"must be true or false, not {self.report_approved!r}")


DEFAULT_SETTINGS = ChangesSettings()
