"""Rows equal to the last read's of the same statement are not converted again.

On a large system, converting 100,000 connection jobs or output queues into the bot's typed rows costs more than
fetching them, and on a quiet system most reads return what the last one did. So for the statements its callers
mark (`SystemConnection.query_rows(..., reuse=True)`), a connection remembers each block of the last read: a digest
of its rows as fetched, and its conversion. A block whose digest equals the one at the same place in the last read
is given the same conversion, the very same objects, which lets the memos further on (bot/checks/memo.py) see it as
unchanged at no cost; any other block is converted.

The digest is BLAKE2b-256 over the block's values as pickle writes them: equal digests mean equal bytes, and equal
bytes read back as equal values, so a conversion is reused only for values equal to those it was made from (the
collision resistance of BLAKE2b is what this rests on). Equal values may be written differently (an object repeated
within one block is written as a reference to its first appearance); such a block is merely converted again. Keeping
the digest rather than the rows costs 32 bytes a block where the rows would cost as much again as their conversion.
A block holding a value pickle cannot write is converted every time. A connection remembers its last
`REMEMBERED_READS` statements (with their parameters), the ones used least lately forgotten first.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.ibmi.table import Table


@dataclass(frozen=True)
class Conversion:
    """One read's blocks in order, each as the digest of its rows (None: not digestible) and its conversion."""

    names: tuple[str, ...]
    blocks: tuple[tuple[bytes | None, list[Any]], ...]


NOTHING_READ = Conversion((), ())  # what a statement marked for reuse remembers before its first read
REMEMBERED_READS = 64  # statements remembered per connection: a cycle's marked reads, with room to spare


class RememberedReads:
    """The last conversion of each statement read with `reuse`, at most REMEMBERED_READS of them."""

    def __init__(self, limit: int = REMEMBERED_READS):
        self._limit = limit
        self._kept: OrderedDict[Hashable, Conversion] = OrderedDict()

    def last(self, read: Hashable) -> Conversion:
        conversion = self._kept.get(read, NOTHING_READ)
        if read in self._kept:
            self._kept.move_to_end(read)
        return conversion

    def keep(self, read: Hashable, conversion: Conversion) -> None:
        self._kept[read] = conversion
        self._kept.move_to_end(read)
        while len(self._kept) > self._limit:
            self._kept.popitem(last=False)


def digest(rows: Sequence[Sequence[Any]]) -> bytes | None:
    """The digest of a block's values; None when one of them cannot be pickled."""
    try:
        written = pickle.dumps([tuple(row) for row in rows], protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return hashlib.blake2b(written, digest_size=32).digest()


class BlockConverter:
    """Converts the blocks of one read in order. `last`: the last read's blocks, whose conversions are given again
    for equal blocks, and which this read's blocks replace; None: nothing is remembered."""

    def __init__(self, names: tuple[str, ...], convert: Callable[[Table], list[Any]], last: Conversion | None):
        self._names = names
        self._convert = convert
        self._remember = last is not None
        self._last = last.blocks if last is not None and last.names == names else ()
        self._blocks: list[tuple[bytes | None, list[Any]]] = []

    def convert(self, rows: Sequence[Any]) -> list[Any]:
        if not self._remember:
            return self._convert(Table(self._names, rows))
        index = len(self._blocks)
        written = digest(rows)
        if written is not None and index < len(self._last) and self._last[index][0] == written:
            block = self._last[index]
        else:
            block = (written, self._convert(Table(self._names, rows)))
        self._blocks.append(block)
        return block[1]

    def conversion(self) -> Conversion:
        return Conversion(self._names, tuple(self._blocks))
