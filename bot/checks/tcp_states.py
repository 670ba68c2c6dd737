"""NETSTAT's TCP states, each spelling read once: a large result repeats a handful of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from bot.ibmi.rows import NetstatConnection


class TcpState(NamedTuple):
    established: bool  # `NetstatConnection.is_established` of a row in this state
    listening: bool  # `NetstatConnection.is_listening`


def tcp_states(connections: Sequence[NetstatConnection]) -> dict[str | None, TcpState]:
    """Each `tcp_state` spelling among the connections, as the row's own properties read it."""
    one_row_per_state = {connection.tcp_state: connection for connection in connections}
    return {state: TcpState(row.is_established, row.is_listening) for state, row in one_row_per_state.items()}
