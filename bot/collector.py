"""The garbage collector's thresholds for a process whose check cycles make hundreds of thousands of objects.

CPython's defaults (700, 10, 10) collect the youngest generation every 700 new container objects. A cycle on a
large system makes millions of them (rows, findings, alert records), and the full collections that brings walk
every live object again and again, the alerts kept in memory among them: at 100,000 connections and output
queues they took about a third of the cycle. Reference counting frees nearly everything the bot makes; the
collector is there for reference cycles, which can wait for fewer, larger collections.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)


def suit_large_cycles() -> None:
    """Set the collector's thresholds for the bot's process (idempotent)."""
    gc.set_threshold(*THRESHOLDS)
