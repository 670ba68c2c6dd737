"""Result sets converted a column at a time (bot/ibmi/table.py) give what converting value by value gives."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bot.ibmi import access, sql
from bot.ibmi.access import ConnectionSettings, DemoOptions, SystemConnection
from bot.ibmi.drivers import driver_for
from bot.ibmi.table import (
    Table,
    decimal_column,
    int_column,
    required_int_column,
    required_text_column,
    rows_of,
    text,
    text_column,
)
from tests.large_demo import fill

# Text as IBM i pads it, blanks, NULLs, and values of other types a driver may give for a character column.
MIXED = ["PROD  ", "", "   ", None, "  QSECOFR", 446, Decimal("1.50"), "ESTABLISHED"]


@pytest.mark.parametrize("values", [MIXED, [v for v in MIXED if isinstance(v, str) or v is None], ["A "] * 12])
def test_text_columns_convert_as_each_value_would(values: list[Any]) -> None:
    assert text_column(values) == [text(value) for value in values]
    assert required_text_column(values) == [text(value) or "" for value in values]


@pytest.mark.parametrize(
    "values",
    [
        [f"203.0.113.{i % 256} " for i in range(300)] + ["LISTEN "] * 2_000,  # distinct first, then repeating
        ["LISTEN "] * 300 + [f"10.0.{i // 256}.{i % 256} " for i in range(2_000)],  # repeating first, then distinct
        [f" 10.0.{i // 256}.{i % 256}" for i in range(2_000)],
    ],
)
def test_a_long_column_converts_the_same_whatever_its_first_values_suggest(values: list[Any]) -> None:
    assert text_column(values) == [text(value) for value in values]
    assert required_text_column(values) == [text(value) or "" for value in values]


def test_a_column_of_repeated_values_is_converted_once_per_value_with_the_same_result() -> None:
    states = ["ESTABLISHED ", "LISTEN", None, "  ", "TIME-WAIT"] * 40
    assert text_column(states) == [text(state) for state in states]
    assert required_text_column(states) == [text(state) or "" for state in states]


def test_numbers_keep_nulls_and_exact_decimals() -> None:
    assert int_column([1, None, "23", Decimal("4")]) == [1, None, 23, 4]
    assert required_int_column([1, "23", Decimal("4")]) == [1, 23, 4]
    with pytest.raises(TypeError):
        required_int_column([1, None])
    assert decimal_column([1.5, 2, None, Decimal("0.25")]) == [Decimal("1.5"), Decimal("2"), None, Decimal("0.25")]
    assert decimal_column([0.1, 3]) == [Decimal("0.1"), Decimal("3")]  # from the text, not the binary float


def test_columns_are_picked_by_name_and_a_missing_one_is_named() -> None:
    table = Table(("A", "B"), [(1, "x"), (2, "y")])
    assert table.columns("B", "A") == [("x", "y"), (1, 2)]
    assert table.dicts() == [{"A": 1, "B": "x"}, {"A": 2, "B": "y"}]
    with pytest.raises(KeyError, match="column C not in the result"):
        table.columns("C")
    assert Table(("A",), []).columns("A", "B") == [(), ()]


class Pair(NamedTuple):
    left: int
    right: str


def test_rows_are_built_as_the_named_tuple_and_a_wrong_width_refused() -> None:
    rows = rows_of(Pair, [[1, 2], ["a", "b"]])
    assert rows == [Pair(1, "a"), Pair(2, "b")] and type(rows[0]) is Pair and rows[1].right == "b"
    with pytest.raises(ValueError, match="Pair has 2 fields, not 3"):
        rows_of(Pair, [[1], ["a"], ["b"]])


def test_a_result_longer_than_one_fetch_block_reads_every_row_once(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    fill(folder, access.FETCH_ROWS * 2 + 7)
    settings = ConnectionSettings(name="BIG", driver="demo", demo=DemoOptions(path=folder))
    connection = SystemConnection(settings, driver_for("demo"))
    try:
        connections = sql.read_tcp_connections(connection)
        queues = sql.read_output_queues(connection)
        dict_rows = connection.query(sql.NETSTAT_TCP_CONNECTIONS)
    finally:
        connection.close()
    assert len(connections) == len(dict_rows) > access.FETCH_ROWS * 2
    assert [c.key for c in connections] == [
        (r["LOCAL_ADDRESS"].strip(), r["LOCAL_PORT"], r["REMOTE_ADDRESS"].strip(), r["REMOTE_PORT"]) for r in dict_rows
    ]
    assert len({queue.qualified_name for queue in queues}) == len(queues) > access.FETCH_ROWS * 2
    assert any(queue.public_authority == "*USE" for queue in queues)
