"""A fake IBM i answering the audit journal statements (bot/ibmi/audit_journal.py) from rows given by a test."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bot.ibmi import audit_journal
from bot.ibmi.table import Table

T = TypeVar("T")
RECORDED = {"QAUDCTL": "*AUDLVL *OBJAUD", "QAUDLVL": "*AUTFAIL *SECURITY", "QAUDLVL2": "*NONE"}


class FakeJournal:
    """`entries[entry_type]` are dicts by IBM column name; `now` is the system's clock."""

    def __init__(self, now: str, entries: dict[str, list[dict[str, Any]]], values: dict[str, str] = RECORDED):
        self.now = now
        self.entries = entries
        self.values = values

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if sql == audit_journal.SYSTEM_TIME:
            return [{"NOW": self.now}]
        if sql == audit_journal.ATTACHED_RECEIVER:
            return [{"ATTACHED_JOURNAL_RECEIVER_LIBRARY": "QSYS", "ATTACHED_JOURNAL_RECEIVER_NAME": "QAUDRCV001"}]
        if sql == audit_journal.AUDIT_SYSTEM_VALUES:
            return [{"SYSTEM_VALUE_NAME": k, "CURRENT_CHARACTER_VALUE": v} for k, v in self.values.items()]
        raise AssertionError(f"unexpected statement {sql}")

    def query_rows(self, sql: str, params: Sequence[Any], convert: Callable[[Table], list[T]]) -> list[T]:
        for entry_type, rows in self.entries.items():
            if f"AUDIT_JOURNAL_{entry_type}(" in sql:
                limit = int(sql.split("FETCH FIRST ")[1].split()[0])
                since = params[0]
                chosen = [row for row in rows if row["ENTRY_TIMESTAMP"] >= since][:limit]
                names = tuple(dict.fromkeys(name for row in rows for name in row)) or ("ENTRY_TIMESTAMP",)
                return convert(Table(names, [tuple(row.get(name) for name in names) for row in chosen]))
        raise AssertionError(f"unexpected statement {sql}")
