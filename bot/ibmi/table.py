"""A result set as the driver returned it, and its values converted a column at a time.

The connections, their jobs and the output queues of a large system come by the hundred thousand. Turning each
row into a dict and each value into text one call at a time cost more than the statements themselves, so those
readers take the rows as tuples, transpose them into columns and convert each column in one pass: a column that
repeats its values converts each distinct value once, a column of text or NULL is stripped in one comprehension,
the general case goes value by value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import Any, TypeVar

RowType = TypeVar("RowType", bound=tuple[Any, ...])

_TEXT_OR_NULL = frozenset({str, type(None)})
_INT_OR_NULL = frozenset({int, type(None)})
_DECIMAL_OR_NULL = frozenset({Decimal, type(None)})
_SAMPLE = 256  # values looked at first when telling whether a column repeats its values


@dataclass(frozen=True)
class Table:
    """The rows of one statement, as sequences in the order of `names` (upper-case column names)."""

    names: tuple[str, ...]
    rows: Sequence[Sequence[Any]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.names, row, strict=True)) for row in self.rows]

    def columns(self, *wanted: str) -> list[Sequence[Any]]:
        """The named columns, each a sequence of every row's value. A name the statement did not return raises
        KeyError naming it."""
        missing = [name for name in wanted if name not in self.names]
        if missing and self.rows:
            raise KeyError(f"column {missing[0]} not in the result ({', '.join(self.names)})")
        if not self.rows:
            return [() for _ in wanted]
        transposed = list(zip(*self.rows, strict=True))
        return [transposed[self.names.index(name)] for name in wanted]


def rows_of(row_type: type[RowType], columns: Sequence[Iterable[Any]]) -> list[RowType]:
    """One `row_type` (a named tuple) per row of the converted `columns`, given in the order of its fields."""
    return as_rows(row_type, zip(*columns, strict=True), len(columns))


def as_rows(row_type: type[RowType], values: Iterable[tuple[Any, ...]], width: int) -> list[RowType]:
    """One `row_type` (a named tuple) per tuple of `values`, each tuple `width` values in the order of its fields
    (built without a Python call per row)."""
    fields = len(row_type._fields)  # type: ignore[attr-defined]
    if width != fields:
        raise ValueError(f"{row_type.__name__} has {fields} fields, not {width}")
    return list(map(tuple.__new__, repeat(row_type), values))


def text(value: Any) -> str | None:
    """One value as text, stripped of IBM i's padding; NULL and blank are None."""
    if value is None:
        return None
    stripped = value.strip() if value.__class__ is str else str(value).strip()  # most are text already: no copy
    return stripped or None


def text_column(values: Sequence[Any]) -> list[str | None]:
    """`text` of every value."""
    few = _few_distinct(values, text)
    if few is not None:
        return list(map(few.__getitem__, values))
    if set(map(type, values)) <= _TEXT_OR_NULL:
        return [value and value.strip() or None for value in values]
    return [text(value) for value in values]


def required_text_column(values: Sequence[Any]) -> list[str]:
    """`text` of every value, "" for NULL and blank."""
    few = _few_distinct(values, _required_text)
    if few is not None:
        return list(map(few.__getitem__, values))
    if set(map(type, values)) <= _TEXT_OR_NULL:
        return [value and value.strip() or "" for value in values]
    return [_required_text(value) for value in values]


def _required_text(value: Any) -> str:
    return text(value) or ""


def _few_distinct(values: Sequence[Any], convert: Callable[[Any], Any]) -> dict[Any, Any] | None:
    """Each distinct value converted once, when the column repeats its values (a state, a port name, a library):
    looking each value up then costs less than converting it. None when most values differ, told from the first
    values when most of those differ already (an address column need not be made a set of to tell)."""
    if len(values) > 4 * _SAMPLE and len(set(values[:_SAMPLE])) * 4 > _SAMPLE:
        return None
    distinct = set(values)
    if len(distinct) * 4 > len(values):
        return None
    return {value: convert(value) for value in distinct}


def int_column(values: Sequence[Any]) -> list[int | None]:
    """Every value as an int; NULL stays None."""
    if set(map(type, values)) <= _INT_OR_NULL:
        return list(values)
    return [None if value is None else int(value) for value in values]


def required_int_column(values: Sequence[Any]) -> list[int]:
    """Every value as an int; a NULL raises TypeError, as `int(None)` does."""
    if set(map(type, values)) == {int}:
        return list(values)
    return list(map(int, values))


def decimal_column(values: Sequence[Any]) -> list[Decimal | None]:
    """Every value as a Decimal (ODBC gives DECIMAL columns as Decimal already); NULL stays None."""
    types = set(map(type, values))
    if types <= _DECIMAL_OR_NULL:
        return list(values)
    if type(None) not in types:
        return list(map(Decimal, map(str, values)))
    return [value if value is None or value.__class__ is Decimal else Decimal(str(value)) for value in values]
