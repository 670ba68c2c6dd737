"""A fake IBM i for the checks that judge audit journal entries: the system clock and QAUDJRN's receivers (as
tests/test_audit_journal_reading.py answers them), the audit system values, the entries of each type (answered
through the product's own row conversion) and NETSTAT."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.checks.audit_journal.reading import shifted
from bot.ibmi import audit_journal, sql
from bot.ibmi.errors import NotAuthorizedError
from bot.ibmi.rows import NetstatConnection
from bot.ibmi.table import Table
from tests.test_audit_journal_reading import NOW, FakeJournal

RECORDING = {"QAUDCTL": "*AUDLVL", "QAUDLVL": "*AUTFAIL *SECURITY", "QAUDLVL2": "*NONE"}


def at(minutes: float) -> str:
    """A timestamp `minutes` from NOW (negative: before)."""
    return shifted(NOW, minutes * 60)


class JournalSystem(FakeJournal):
    """FakeJournal's clock and receivers, with entries of every type, the audit values and NETSTAT."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, list[dict[str, Any]]] = {}  # entry type -> rows by IBM column name
        self.audit_values: dict[str, str] = dict(RECORDING)
        self.connections: list[NetstatConnection] | None = []  # None: NETSTAT refused
        self.refused: set[str] = set()  # entry types whose function refuses the bot's profile

    def add(self, entry_type: str, timestamp: str, **columns: Any) -> None:  # type: ignore[override]
        rows = self.entries.setdefault(entry_type, [])
        rows.append({"ENTRY_TIMESTAMP": timestamp, "SEQUENCE_NUMBER": len(rows) + 1, **columns})

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if statement == sql.LISTENING_SOCKETS or statement.startswith(
            "SELECT DISTINCT REMOTE_ADDRESS FROM QSYS2.NETSTAT"
        ):
            if self.connections is None:
                raise NotAuthorizedError("[SQL0551] Not authorized to QSYS2.NETSTAT_INFO.")
            if statement == sql.LISTENING_SOCKETS:
                return [{"LISTENING": sum(1 for c in self.connections if c.tcp_state == "LISTEN")}]
            assert statement == sql.established_from_statement(len(params))
            addresses = {c.remote_address for c in self.connections if c.tcp_state == "ESTABLISHED"}
            return [{"REMOTE_ADDRESS": address} for address in sorted(addresses & set(params))]
        if statement == audit_journal.AUDIT_SYSTEM_VALUES:
            return [
                {"SYSTEM_VALUE_NAME": name, "CURRENT_CHARACTER_VALUE": value}
                for name, value in self.audit_values.items()
            ]
        return super().query(statement, params)

    def query_rows(
        self, statement: str, params: Sequence[Any], convert: Callable[[Table], list[Any]], reuse: bool = False
    ) -> list[Any]:
        if statement == sql.NETSTAT_TCP_CONNECTIONS:
            if self.connections is None:
                raise NotAuthorizedError("[SQL0551] Not authorized to QSYS2.NETSTAT_INFO.")
            return list(self.connections)
        match = re.fullmatch(r".*AUDIT_JOURNAL_(\w\w)\(.*FETCH FIRST (\d+) ROWS ONLY", statement, re.S)
        assert match, statement
        entry_type, limit = match[1], int(match[2])
        if entry_type in self.refused:
            raise NotAuthorizedError(f"[SQL0551] Not authorized to SYSTOOLS.AUDIT_JOURNAL_{entry_type}.")
        rows = [row for row in self.entries.get(entry_type, []) if row["ENTRY_TIMESTAMP"] >= params[0]][:limit]
        names = sorted({name for row in self.entries.get(entry_type, []) for name in row}) or ["ENTRY_TIMESTAMP"]
        return convert(Table(tuple(names), [tuple(row.get(name) for name in names) for row in rows]))
