"""Reads marked for reuse give the last conversion again for equal blocks of rows, and convert every other block."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.ibmi import sql
from bot.ibmi.access import FETCH_ROWS
from bot.ibmi.drivers.demo.store import open_libraries
from bot.ibmi.reuse import NOTHING_READ, BlockConverter, Conversion, RememberedReads, digest
from bot.ibmi.table import Table
from bot.ibmi_settings import open_system
from tests.conftest import demo_settings
from tests.large_demo import fill

NAMES = ("A", "B")


class CountingConversion:
    """A conversion that counts the blocks it converts."""

    def __init__(self) -> None:
        self.converted = 0

    def __call__(self, table: Table) -> list[Any]:
        self.converted += 1
        return [tuple(row) for row in table.rows]


def read(blocks: list[list[tuple]], convert: CountingConversion, last: Conversion | None) -> tuple[list, Conversion]:
    converter = BlockConverter(NAMES, convert, last)
    rows: list[Any] = []
    for block in blocks:
        rows += converter.convert(block)
    return rows, converter.conversion()


def test_equal_blocks_give_the_same_conversion_without_converting():
    convert = CountingConversion()
    blocks = [[("x", 1), ("y", 2)], [("z", 3)]]
    first, remembered = read(blocks, convert, NOTHING_READ)
    again, _ = read([list(block) for block in blocks], convert, remembered)
    assert again == first and all(a is b for a, b in zip(again, first, strict=True))
    assert convert.converted == 2


def test_a_changed_block_is_converted_and_the_others_reused():
    convert = CountingConversion()
    _, remembered = read([[("x", 1)], [("y", 2)], [("z", 3)]], convert, NOTHING_READ)
    rows, _ = read([[("x", 1)], [("y", 5)], [("z", 3)]], convert, remembered)
    assert rows == [("x", 1), ("y", 5), ("z", 3)]
    assert convert.converted == 3 + 1


def test_values_equal_in_python_but_written_differently_are_converted_again():
    convert = CountingConversion()
    _, remembered = read([[("idle", Decimal("5.0"))]], convert, NOTHING_READ)
    rows, _ = read([[("idle", Decimal("5.00"))]], convert, remembered)
    assert str(rows[0][1]) == "5.00" and convert.converted == 2


def test_other_columns_are_never_given_the_last_conversion():
    convert = CountingConversion()
    _, remembered = read([[("x", 1)]], convert, NOTHING_READ)
    converter = BlockConverter(("A", "C"), convert, remembered)
    converter.convert([("x", 1)])
    assert convert.converted == 2


def test_a_block_pickle_cannot_write_is_converted_every_time():
    convert = CountingConversion()
    unpicklable = [("x", lambda: None)]
    assert digest(unpicklable) is None
    _, remembered = read([unpicklable], convert, NOTHING_READ)
    read([unpicklable], convert, remembered)
    assert convert.converted == 2


def test_without_reuse_nothing_is_remembered():
    convert = CountingConversion()
    converter = BlockConverter(NAMES, convert, None)
    converter.convert([("x", 1)])
    assert converter.conversion().blocks == ()


def test_a_connection_remembers_its_latest_reads_only():
    remembered = RememberedReads(limit=2)
    first, second, third = (Conversion(NAMES, ((None, [n]),)) for n in range(3))
    remembered.keep("first", first)
    remembered.keep("second", second)
    assert remembered.last("first") is first  # used lately: "second" is now the one forgotten next
    remembered.keep("third", third)
    assert remembered.last("second") is NOTHING_READ
    assert remembered.last("first") is first and remembered.last("third") is third


rows_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "a "]), st.one_of(st.none(), st.integers(-3, 3), st.floats(allow_nan=False))),
    max_size=4,
)


@given(reads=st.lists(st.lists(rows_strategy, max_size=4), min_size=1, max_size=5))
def test_every_read_gives_what_converting_it_afresh_gives(reads: list[list[list[tuple]]]):
    convert = CountingConversion()
    remembered = NOTHING_READ
    for blocks in reads:
        rows, remembered = read(blocks, convert, remembered)
        fresh = [row for block in blocks for row in CountingConversion()(Table(NAMES, block))]
        assert rows == fresh
        assert [type(value) for row in rows for value in row] == [type(value) for row in fresh for value in row]


def test_a_system_gives_the_last_output_queues_again_and_sees_a_changed_one(tmp_path: Path):
    folder = tmp_path / "demo"
    fill(folder, 0, queues=2 * FETCH_ROWS + 10)  # three blocks of OUTPUT_QUEUE_INFO rows
    connection = open_system(demo_settings(folder))
    convert = CountingConversion()
    try:
        first = connection.query_rows(sql.OUTPUT_QUEUES, (), convert, reuse=True)
        again = connection.query_rows(sql.OUTPUT_QUEUES, (), convert, reuse=True)
        assert convert.converted == 3 and all(a is b for a, b in zip(again, first, strict=True))

        changed = first[FETCH_ROWS + 1]  # a queue of the second block gets a spooled file
        db = open_libraries(folder)
        db.execute(
            "UPDATE QSYS2.OUTPUT_QUEUE_INFO SET NUMBER_OF_FILES = NUMBER_OF_FILES + 1 "
            "WHERE OUTPUT_QUEUE_LIBRARY_NAME = ? AND OUTPUT_QUEUE_NAME = ?",
            (changed[0], changed[1]),
        )
        db.close()
        now = connection.query_rows(sql.OUTPUT_QUEUES, (), convert, reuse=True)
        assert convert.converted == 4
        assert now[FETCH_ROWS + 1][2] == changed[2] + 1
        assert now[:FETCH_ROWS] == first[:FETCH_ROWS] and now[0] is first[0] and now[-1] is first[-1]

        connection.query_rows(sql.OUTPUT_QUEUES, (), convert)  # not marked: converted, and nothing remembered
        assert convert.converted == 4 + 3
    finally:
        connection.close()
