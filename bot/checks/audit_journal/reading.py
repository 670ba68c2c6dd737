"""Reading one audit journal entry type incrementally, as a data source of the check that judges it.

Each cycle reads the entries after the position kept for the system and entry type (storage/journal.py), at most
the check's `max_entries` of them, so a backlog is caught up over the following cycles. The check judges every entry
new in the read together with the entries of the `window` before the last position (kept in the database with the
position, in one transaction), so an event that spans two reads is judged whole and an entry read late, in a
backlog, is judged all the same. The entries kept are those of the window before the system's clock, or before the
new position while a backlog is read. A reader without memory (`SourceContext.journal` None) judges the window
before the system's clock.

The journal's timestamps are the system's local time. When that goes back (the end of daylight saving time, or a
clock set back), entries written until it passes the position again carry earlier timestamps than the position,
and whether a read from the position returns them is unconfirmed: the reading says so (`clock_behind`) while the
system's clock is behind.

A check may say which entries can ever matter to it (`keeps`): only those are kept, so a day's window of CD entries
holds the watched commands, not every command an audited user typed. An entry left out under the settings of its
time stays left out when the settings change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.checks.definition import Source, SourceContext
from bot.ibmi import audit_journal
from bot.ibmi.audit_journal import JournalEntry


@dataclass(frozen=True)
class JournalPosition:
    """Read up to `timestamp`; `keys` are the entries at exactly that timestamp already taken in; `receiver` is the
    journal receiver (LIBRARY/NAME) attached when it was read."""

    timestamp: str
    keys: tuple[str, ...] = ()
    receiver: str | None = None


class JournalSettings(Protocol):
    window: float  # seconds of entries a check judges
    max_entries: int  # entries read at most per cycle


class JournalMemory(Protocol):
    """Where a system's reading of the journal stands (bot.journal_memory.StoredJournal keeps it in the database)."""

    def position(self, entry_type: str) -> JournalPosition | None: ...

    def take_in(
        self, entry_type: str, entries: Sequence[JournalEntry], position: JournalPosition, forget_before: str
    ) -> None: ...

    def entries_since(self, entry_type: str, since: str) -> list[JournalEntry]: ...

    def now(self) -> float:
        """The bot's clock (epoch seconds)."""
        ...


@dataclass(frozen=True)
class JournalReading:
    entry_type: str
    entries: tuple[JournalEntry, ...]  # to judge: the new ones and those of the window before them, oldest first
    read: int  # entries new to the bot in this cycle
    backlog: bool  # the read stopped at max_entries: more entries wait for the next cycles
    system_time: str  # the system's clock when read ("YYYY-MM-DD HH:MM:SS.ffffff", local time)
    read_at: float  # the bot's clock (epoch seconds) when the system's clock was read
    notices: tuple[str, ...] = ()  # said once: the position was lost, entries may be missing
    entries_seen: bool = False  # the bot has read entries of this type: the system records them

    def epoch(self, timestamp: str) -> float:
        """A journal timestamp (the system's local time) as epoch seconds, by the offset between the system's
        clock and the bot's when read."""
        before = datetime.fromisoformat(self.system_time) - datetime.fromisoformat(timestamp)
        return self.read_at - before.total_seconds()


def shifted(timestamp: str, seconds: float) -> str:
    """A journal timestamp moved by `seconds`."""
    moved = datetime.fromisoformat(timestamp) + timedelta(seconds=seconds)
    return moved.isoformat(sep=" ", timespec="microseconds")


def read_journal(
    context: SourceContext, entry_type: str, check_id: str, keeps: Callable[[JournalEntry], bool] | None = None
) -> JournalReading:
    """`keeps`: whether an entry can ever matter to the check (None: every entry can); only those are kept for the
    runs after, while every entry read is judged in the run that read it."""
    settings: JournalSettings = context.settings[check_id]
    connection = context.connection
    memory: JournalMemory | None = context.journal
    read_at = memory.now() if memory is not None else time.time()
    system_time = audit_journal.read_system_time(connection)
    kept = memory.position(entry_type) if memory is not None else None
    receiver = audit_journal.check_receiver(connection, kept.receiver if kept else None)
    notices = []
    if kept is None:
        since, known = shifted(system_time, -settings.window), frozenset[str]()
    else:
        since, known = kept.timestamp, frozenset(kept.keys)
        if system_time < kept.timestamp:
            notices.append(clock_behind(entry_type, system_time, kept.timestamp))
        if receiver.previous_gone:
            notices.append(
                f"The journal receiver {kept.receiver}, attached to QAUDJRN when the bot last read "
                f"{entry_type} entries, is gone: entries after {kept.timestamp} may have gone with it. Reading "
                "resumes from the oldest entry still available."
            )
    batch = audit_journal.read_entries(connection, entry_type, since, settings.max_entries)
    fresh = [entry for entry in batch if not (entry.timestamp == since and entry.key in known)]
    backlog = len(batch) >= settings.max_entries
    position = _position_after(batch, since, known, receiver.attached)
    if backlog and position.timestamp == since and len(position.keys) == len(known):
        notices.append(
            f"More than max_entries ({settings.max_entries}) {entry_type} entries carry the timestamp {since}: "
            "the reading cannot move past it; raise max_entries."
        )
    keep_from = shifted(min(system_time, position.timestamp), -settings.window)
    if memory is None:
        entries = [entry for entry in fresh if entry.timestamp >= keep_from]
    else:
        earlier = [] if kept is None else memory.entries_since(entry_type, shifted(kept.timestamp, -settings.window))
        kept_now = [e for e in fresh if e.timestamp >= keep_from and (keeps is None or keeps(e))]
        memory.take_in(entry_type, kept_now, position, keep_from)
        entries = sorted([*earlier, *fresh], key=lambda entry: entry.timestamp)
    seen = bool(position.keys)  # the position moves only onto entries read
    return JournalReading(entry_type, tuple(entries), len(fresh), backlog, system_time, read_at, tuple(notices), seen)


def clock_behind(entry_type: str, system_time: str, position: str) -> str:
    """The system's local time is before the last entry read: it went back (the end of daylight saving time, or the
    clock set back), so the entries written until it passes the position again carry earlier timestamps. A read
    starts at the position's timestamp, and whether the table function returns such entries from it is
    unconfirmed."""
    return (
        f"The system's clock ({system_time}) is behind the last {entry_type} entry read ({position}): "
        "local time went back (the end of daylight saving time, or the clock set back). Entries written until "
        f"the clock passes {position} again carry earlier timestamps and may be missed: review them on the "
        "system, in QSYS/QAUDJRN."
    )


def _position_after(
    batch: Sequence[JournalEntry], since: str, known: frozenset[str], receiver: str | None
) -> JournalPosition:
    if not batch:
        return JournalPosition(since, tuple(sorted(known)), receiver)
    last = max(entry.timestamp for entry in batch)
    keys = {entry.key for entry in batch if entry.timestamp == last}
    if last == since:
        keys |= known
    return JournalPosition(last, tuple(sorted(keys)), receiver)


def journal_source(
    entry_type: str, check_id: str, keeps: Callable[[SourceContext], Callable[[JournalEntry], bool]] | None = None
) -> Source:
    """The source reading `entry_type` for the check `check_id` (whose settings carry window and max_entries).
    `keeps(context)` tells which entries can ever matter to the check under its settings (see `read_journal`)."""

    def read(context: SourceContext) -> Any:
        return read_journal(context, entry_type, check_id, keeps(context) if keeps is not None else None)

    return Source(f"audit-journal-{entry_type.lower()}", read, service=f"SYSTOOLS.AUDIT_JOURNAL_{entry_type}")
