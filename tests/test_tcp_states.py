"""NETSTAT's TCP states read once per spelling: each spelling reads as the row's own properties read it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.checks.tcp_states import TcpState, tcp_states
from tests.netstat_rows import row

SPELLINGS = st.one_of(
    st.none(), st.sampled_from(["ESTABLISHED", " established ", "LISTEN", "Listen", "TIME-WAIT", ""]), st.text()
)


@given(st.lists(SPELLINGS, max_size=12))
def test_each_spelling_reads_as_the_rows_own_properties(spellings):
    connections = [row("10.0.0.1", state=spelling) for spelling in spellings]  # type: ignore[arg-type]
    states = tcp_states(connections)
    assert set(states) == set(spellings)
    for connection in connections:
        assert states[connection.tcp_state] == TcpState(connection.is_established, connection.is_listening)
