"""What a check declares about itself, and the values a check run is given: the system and the readings.

A check package (`bot/checks/<package>/`) exposes one `CHECK = CheckDefinition(...)`; the registry
finds it. `evaluate` is pure: it is handed what the data sources read and returns findings.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.checks.finding import Finding
from bot.ibmi.errors import NotAuthorizedError
from bot.ibmi.sql import Queryable

CHECK_ID_FORM = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ApprovedSmtpChanges:
    """The SMTP changes ibmi-warden made on the system by approval, as its records show (none by default).

    relay_policy: the ALWRLY value the last successful `relay set` set; relay_set_by its approvers and
    relay_set_at when it was approved (epoch seconds). list_changed_at: when the last successful ADDSMTPLE or
    RMVSMTPLE was approved; it takes effect only when the SMTP server next starts.
    """

    relay_policy: str | None = None
    relay_set_by: tuple[str, ...] = ()
    relay_set_at: float | None = None
    list_changed_at: float | None = None


@dataclass(frozen=True)
class BotCommand:
    """A CL command ibmi-warden ran on the system by approval, as its records show."""

    command: str  # the command text as run
    ran_at: float  # when it ran (epoch seconds)
    request_id: str
    approved_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckTarget:
    """What a check needs to know of the system it judges (never the whole configuration)."""

    name: str
    trusted: tuple[IPNetwork, ...] = ()  # configured and approved trusted networks
    host: str | None = None  # the system's host name, where a network probe would connect
    smtp: ApprovedSmtpChanges = ApprovedSmtpChanges()
    bot_commands: tuple[BotCommand, ...] = ()  # the commands the bot ran on it lately (changes-behind-the-bot)
    # The configured settings of the checks the run's checks borrow from (CheckDefinition.borrows), by check id,
    # whether or not those checks run in the same group or are enabled at all.
    settings_of: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceContext:
    """What a source reader is given: the connection, the system, and the settings of the checks run."""

    connection: Queryable
    target: CheckTarget
    settings: Mapping[str, Any]  # check id -> that check's settings (None when it has no options)
    journal: Any = None  # the system's audit journal reading kept (bot.checks.audit_journal.reading.JournalMemory)


@dataclass(frozen=True)
class Source:
    """One thing read from a system (a view, a list, a probe), read once per cycle for every check needing it."""

    name: str
    read: Callable[[SourceContext], Any]
    # Seconds before a refused read is tried again (bot.checks.refusals); None: every cycle.
    refusal_retry: float | None = None
    # Read as the bot's IBM i profile, so its authorities decide whether it may (False: a network probe).
    as_profile: bool = True
    # What IBM i checks (and audits) the authority of: sources reading the same service share one remembered
    # refusal, so a refusal of one holds the others back too (None: the source's own name).
    service: str | None = None

    @property
    def refusal_key(self) -> str:
        return self.service or self.name


@dataclass(frozen=True)
class NotReadable:
    """A source the bot's profile may not read: the checks needing it say so instead of judging."""

    error: NotAuthorizedError

    @property
    def reason(self) -> str:
        return str(self.error)


class Readings:
    """What the sources of one cycle read, by source name: a value, or `NotReadable`."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)

    def value(self, source: str) -> Any:
        """The value read; a source that was not readable fails the check as its read would have."""
        value = self._values[source]
        if isinstance(value, NotReadable):
            raise value.error
        return value

    def optional(self, source: str) -> Any:
        """The value read, or None when the source was not readable."""
        value = self._values[source]
        return None if isinstance(value, NotReadable) else value

    def problem(self, source: str) -> str | None:
        """Why the source was not readable; None when it was."""
        value = self._values[source]
        return value.reason if isinstance(value, NotReadable) else None

    def as_read(self, *sources: str) -> tuple[Any, ...]:
        """What these sources gave, values and `NotReadable` alike: a run judged from an equal tuple (with equal
        settings) finds the same (bot/checks/memo.py)."""
        return tuple(self._values[source] for source in sources)


Evaluate = Callable[[Readings, CheckTarget, Any], list[Finding]]


@dataclass(frozen=True)
class CheckDefinition:
    """One check: its id (as in `[checks.<id>]`), what it reads, how it judges, and how it is shown."""

    id: str
    title: str
    default_interval: float  # seconds
    sources: tuple[Source, ...]
    evaluate: Evaluate  # pure: readings, the system and the check's settings in, findings out
    folder: Path  # the check's package folder, which holds its runbook.md
    settings_type: Callable[..., Any] | None = None  # built with the check's options as keyword arguments
    about_address: bool = False  # findings name a remote address (facts["remote_address"]): trust, end, trace owner
    order: int = 100  # where the check is listed and run among the others; ties go by id
    borrows: tuple[str, ...] = ()  # ids of checks whose configured settings it reads (CheckTarget.settings_of)
    reads_bot_commands: bool = False  # judges what the bot ran by approval (CheckTarget.bot_commands)
    source_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not CHECK_ID_FORM.match(self.id):
            raise ValueError(f"check id {self.id!r} is not lower-case words joined by dashes")
        object.__setattr__(self, "source_names", tuple(source.name for source in self.sources))

    @property
    def package(self) -> str:
        return self.folder.name

    @property
    def runbook(self) -> Path:
        return self.folder / "runbook.md"

    @property
    def option_names(self) -> tuple[str, ...]:
        """The keys `[checks.<id>]` accepts besides enabled and interval."""
        settings_type = self.settings_type
        if settings_type is None or not dataclasses.is_dataclass(settings_type):
            return ()
        return tuple(f.name for f in dataclasses.fields(settings_type))

    @property
    def duration_option_names(self) -> tuple[str, ...]:
        """The options that are durations (declared with DURATION_OPTION): the configuration reads them as one."""
        settings_type = self.settings_type
        if settings_type is None or not dataclasses.is_dataclass(settings_type):
            return ()
        return tuple(f.name for f in dataclasses.fields(settings_type) if f.metadata.get("duration"))

    def build_settings(self, options: Mapping[str, Any]) -> Any:
        """The check's settings from its options; ValueError/TypeError name what is wrong."""
        if self.settings_type is None:
            if options:
                raise ValueError(f"{self.id} has no options besides enabled and interval (got {', '.join(options)})")
            return None
        return self.settings_type(**options)


DURATION_OPTION: Mapping[str, bool] = {"duration": True}  # field(metadata=…): the option is a duration in seconds

_SYSTEM_KEYWORD = re.compile(r"(?:^|;)\s*SYSTEM\s*=\s*([^;]+)", re.IGNORECASE)


def system_host(connection: str) -> str | None:
    """The host name in an ODBC connection string (SYSTEM=…), where the SMTP probe connects."""
    match = _SYSTEM_KEYWORD.search(connection)
    return match[1].strip() if match else None


def needed_sources(checks: Sequence[CheckDefinition]) -> tuple[Source, ...]:
    """The sources of `checks`, each once, in the order the checks name them."""
    seen: dict[str, Source] = {}
    for check in checks:
        for source in check.sources:
            seen.setdefault(source.name, source)
    return tuple(seen.values())
