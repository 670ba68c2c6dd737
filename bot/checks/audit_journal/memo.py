"""Judgements an audit journal check keeps from one run to the next, because the journal does not change.

A check judges the entries of its window every run (60 s by default), and a window of 24 hours holds every CD or CP
entry of a day. Most runs of a quiet system read nothing new, and an entry, once written, never changes. So:

- `SameInput` (bot/checks/memo.py) gives a system's findings of the last run again when everything they were judged
  from is equal to the last run's (the window's entries, the settings, and whatever else the check passes as its
  input);
- `EntryMemo` keeps what judging one entry gave while the entry stays in the window, so a run judges only the
  entries new to it, and forgets those that left the window.

Both are pure memos: a value is given again only for an input equal to the one it was computed from. `EntryMemo`
knows an entry by identity (the journal's reading hands the same entry objects to every run while they are kept in
memory); an entry read again from the database is judged again, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from itertools import repeat
from typing import Any, Generic, TypeVar

from bot.ibmi.audit_journal import JournalEntry

Judgement = TypeVar("Judgement")


class EntryMemo(Generic[Judgement]):
    """What judging each entry gave, per system, kept while the entry is in the window and the settings it was
    judged with (`basis`) stay equal."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Hashable, tuple[JournalEntry, ...], tuple[Any, ...]]] = {}
        self._lock = threading.Lock()

    def each(
        self,
        system: str,
        basis: Hashable,
        entries: Sequence[JournalEntry],
        judge: Callable[[JournalEntry], Judgement],
    ) -> list[Judgement]:
        """`judge(entry)` for every entry, in order: kept answers for the entries judged before on this basis."""
        with self._lock:
            kept_basis, kept_entries, kept_answers = self._kept.get(system, (None, (), ()))
        # By id: the entries judged last are held (kept_entries), so no other object can have one of their ids.
        known = dict(zip(map(id, kept_entries), kept_answers, strict=True)) if kept_basis == basis else {}
        answers: list[Any] = list(map(known.get, map(id, entries), repeat(_NOT_JUDGED)))
        for index in [index for index, answer in enumerate(answers) if answer is _NOT_JUDGED]:
            answers[index] = judge(entries[index])
        with self._lock:
            self._kept[system] = (basis, tuple(entries), tuple(answers))
        return answers


_NOT_JUDGED = object()
