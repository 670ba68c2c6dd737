"""Block Kit builders: what they show, and that every message stays within Slack's limits."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock

from bot.slack import blocks
from bot.systems import NetstatEntry, NetstatReport, SystemStatus
from handlers.commands import SUB_COMMANDS

LINE = re.compile(r"^(:warning:|:white_check_mark:) `")


def assert_within_limits(message: list[dict], max_blocks: int = 50) -> None:
    """Slack's documented limits (reference §3), checked on the dicts as they are sent."""
    assert 1 <= len(message) <= max_blocks
    json.dumps(message)  # plain JSON data, nothing slack_sdk-specific left in
    for block in message:
        assert type(block) is dict
        kind = block["type"]
        if kind == "section":
            assert 1 <= len(block["text"]["text"]) <= 3000
        elif kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert 1 <= len(block["text"]["text"]) <= 150
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(1 <= len(element["text"]) <= 3000 for element in block["elements"])
        else:
            assert kind == "divider", kind
        # Round trip through slack_sdk's models, whose to_dict() runs their validators.
        assert Block.parse(block).to_dict() == block


def texts(message: list[dict]) -> list[str]:
    found = []
    for block in message:
        if block["type"] in ("section", "header"):
            found.append(block["text"]["text"])
        elif block["type"] == "context":
            found += [element["text"] for element in block["elements"]]
    return found


def all_text(message: list[dict]) -> str:
    return "\n".join(texts(message))


def contexts(message: list[dict]) -> str:
    return "\n".join(e["text"] for b in message if b["type"] == "context" for e in b["elements"])


# --- to_dicts, help, errors ---------------------------------------------------------------------------------


def test_to_dicts_rejects_more_than_50_blocks() -> None:
    assert len(blocks.to_dicts([DividerBlock()] * 50)) == 50
    with pytest.raises(ValueError, match="51 blocks"):
        blocks.to_dicts([DividerBlock()] * 51)


def test_to_dicts_returns_validated_plain_dicts() -> None:
    [block] = blocks.to_dicts([SectionBlock(text="hello")])
    assert block == {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}


@pytest.mark.parametrize("slash", ["/ibmi", "/warden"])
def test_help_mentions_every_sub_command_with_its_example(slash: str) -> None:
    message = blocks.help_blocks(slash, SUB_COMMANDS)
    assert_within_limits(message)
    text = all_text(message)
    for sub in SUB_COMMANDS:
        assert f"`{slash} {sub.usage}`" in text, sub.name
        assert f"`{slash} {sub.example}`" in text, sub.name
        assert sub.summary in text
    assert text.count("later version") == sum(1 for sub in SUB_COMMANDS if not sub.available)


def test_help_text_fallback_mentions_every_example() -> None:
    text = blocks.help_text("/ibmi", SUB_COMMANDS)
    for sub in SUB_COMMANDS:
        assert f"/ibmi {sub.example}" in text


def test_error_blocks_show_the_problem_and_the_usage() -> None:
    message = blocks.error_blocks("Unknown option `--x`.", "/ibmi netstat [SYSTEM] [--port N]")
    assert_within_limits(message)
    assert all_text(message) == ":x: Unknown option `--x`.\nUsage: `/ibmi netstat [SYSTEM] [--port N]`"
    assert_within_limits(blocks.error_blocks("x" * 5000, None))


# --- netstat ------------------------------------------------------------------------------------------------


def entry(n: int, trusted: bool, port: int = 23, **changes) -> NetstatEntry:
    network = ipaddress.ip_address("10.0.0.0") if trusted else ipaddress.ip_address("203.0.113.0")
    values = dict(
        remote_address=str(network + n % 65536),
        remote_port=40000 + n % 20000,
        local_address="10.1.1.1",
        local_port=port,
        local_port_name="telnet",
        tcp_state="ESTABLISHED",
        idle_time=Decimal("12.5"),
        trusted=trusted,
        loopback=False,
    )
    values.update(changes)
    return NetstatEntry(**values)


def report(untrusted: int, trusted: int, **changes) -> NetstatReport:
    entries = [entry(n, False) for n in range(untrusted)] + [entry(n, True) for n in range(trusted)]
    return NetstatReport(**{"system": "PROD", "entries": tuple(entries), "port": None, **changes})


def shown_lines(message: list[dict]) -> list[str]:
    return [line for text in texts(message) for line in text.split("\n") if LINE.match(line)]


def test_netstat_with_no_entries() -> None:
    message = blocks.netstat_blocks(report(0, 0))
    assert_within_limits(message)
    assert "0 remote connection(s), 0 from untrusted addresses" in all_text(message)
    assert shown_lines(message) == []
    assert "not shown" not in all_text(message)


def test_netstat_with_one_entry() -> None:
    message = blocks.netstat_blocks(report(1, 0, port=23))
    assert_within_limits(message)
    assert message[0]["text"]["text"] == "Connections on PROD on port 23"
    assert shown_lines(message) == [
        ":warning: `203.0.113.0:40000` → 23 telnet — *untrusted*, idle 12s"  # Decimal 12.5 rounds half-even
    ]
    assert "1 remote connection(s), 1 from untrusted addresses" in all_text(message)
    assert "not shown" not in all_text(message)


def test_netstat_with_5000_entries_stays_within_limits_and_counts_the_rest() -> None:
    message = blocks.netstat_blocks(report(1200, 3800))
    assert_within_limits(message)
    lines = shown_lines(message)
    assert 0 < len(lines) < 5000
    assert "5000 remote connection(s), 1200 from untrusted addresses" in all_text(message)
    assert f"{5000 - len(lines)} more not shown ({1200 - len(lines)} untrusted)" in contexts(message)


def test_netstat_shows_untrusted_before_trusted() -> None:
    message = blocks.netstat_blocks(report(3, 4))
    lines = shown_lines(message)
    assert [line.startswith(":warning:") for line in lines] == [True] * 3 + [False] * 4
    assert all("*untrusted*" in line for line in lines[:3])
    assert all("— trusted" in line for line in lines[3:])


def test_netstat_hidden_trusted_are_counted() -> None:
    message = blocks.netstat_blocks(report(10, 500))
    hidden = 510 - len(shown_lines(message))
    assert f"{hidden} more not shown (0 untrusted)" in contexts(message)


def test_netstat_with_long_lines_still_fits() -> None:
    long = report(0, 0, entries=tuple(entry(n, False, local_port_name="N" * 4000) for n in range(300)))
    message = blocks.netstat_blocks(long)
    assert_within_limits(message)
    assert f"{300 - len(shown_lines(message))} more not shown" in contexts(message)


def test_netstat_note_is_shown() -> None:
    alone = blocks.netstat_blocks(report(0, 0, note="NETSTAT not readable: SQL0551 <not authorised> & co"))
    assert_within_limits(alone)
    assert ":warning: NETSTAT not readable: SQL0551 &lt;not authorised&gt; &amp; co" in all_text(alone)
    with_entries = blocks.netstat_blocks(report(2, 1, note="no listening sockets"))
    assert_within_limits(with_entries)
    assert ":warning: no listening sockets\n3 remote connection(s)" in all_text(with_entries)
    assert_within_limits(blocks.netstat_blocks(report(1, 0, note="x" * 10_000)))


def test_netstat_line_details() -> None:
    entries = (
        entry(1, False, remote_address="2001:db8::7", tcp_state=None, idle_time=None, local_port_name=None),
        entry(2, False, tcp_state="FIN-WAIT-1"),
        entry(3, True, remote_address="127.0.0.1", loopback=True),
    )
    lines = shown_lines(blocks.netstat_blocks(report(0, 0, entries=entries)))
    assert lines[0] == ":warning: `[2001:db8::7]:40001` → 23 — *untrusted*"
    assert lines[1].endswith("*untrusted*, idle 12s, FIN-WAIT-1")
    assert lines[2] == ":white_check_mark: `127.0.0.1:40003` → 23 telnet — loopback, idle 12s"


def test_netstat_header_is_cut_to_150_characters() -> None:
    message = blocks.netstat_blocks(report(1, 0, system="S" * 200, port=23))
    assert_within_limits(message)


# --- status -------------------------------------------------------------------------------------------------


def status(
    n: int, reachable: bool | None = True, error: str | None = None, result: str = "no findings", ran: bool = True
) -> SystemStatus:
    return SystemStatus(
        name=f"SYS{n:03}",
        connection_kind="odbc",
        reachable=reachable,
        error=error,
        last_check_at=datetime.now(UTC) - timedelta(minutes=5) if ran else None,
        last_check="unknown_connections" if ran else None,
        last_duration=1.25 if ran else None,
        last_result=result if ran else None,
    )


def test_status_with_no_systems() -> None:
    message = blocks.status_blocks([])
    assert_within_limits(message)
    assert "No systems are configured" in all_text(message)


def test_status_with_one_system() -> None:
    message = blocks.status_blocks([status(1)])
    assert_within_limits(message)
    text = all_text(message)
    assert "*SYS001* (odbc) :large_green_circle: healthy" in text
    assert "last check `unknown_connections`" in text and "1.2s, no findings" in text
    assert "(5m ago)" in text


def test_status_states() -> None:
    text = all_text(
        blocks.status_blocks(
            [
                status(1, reachable=False, error="CWBCO1048 <host> unreachable\nretry later"),
                status(2, reachable=None, ran=False),
            ]
        )
    )
    assert ":red_circle: unreachable — CWBCO1048 &lt;host&gt; unreachable retry later" in text
    assert "*SYS002* (odbc) :grey_question: not contacted yet\nno check has run yet" in text


def test_status_says_how_a_system_is_sick_and_since_when() -> None:
    since = datetime.now(UTC) - timedelta(minutes=7)
    sick = [
        replace(status(1), reachable=True, health="erroring", health_since=since, error="[SQL0901] SQL system error."),
        replace(status(2), reachable=False, health="hung", health_since=since, error="calls abandoned at the 35 s …"),
        replace(status(3), reachable=True, health="not authorised", health_since=since, error="grant <the> profile"),
        status(4),
    ]
    message = blocks.status_blocks(sick)
    text = all_text(message)
    assert ":red_circle: erroring since " in text and "(7m ago) — [SQL0901] SQL system error." in text
    assert ":red_circle: hung since " in text and "calls abandoned at the 35 s …" in text
    assert ":red_circle: not authorised since " in text and "grant &lt;the&gt; profile" in text
    assert blocks.status_text(sick) == "4 system(s): 1 erroring, 1 hung, 1 not authorised, 1 healthy"


def test_status_line_accepts_naive_and_future_times() -> None:
    naive = SystemStatus("A", "demo", True, None, datetime(2020, 1, 1), "c", 1.0, "ok")
    assert "2020-01-01 00:00 UTC" in blocks.status_line(naive)
    future = SystemStatus("A", "demo", True, None, datetime.now(UTC) + timedelta(hours=1), "c", 1.0, "ok")
    assert "(0s ago)" in blocks.status_line(future)


def test_status_with_200_systems_shows_them_all() -> None:
    statuses = [status(n) for n in range(200)]
    message = blocks.status_blocks(statuses)
    assert_within_limits(message)
    text = all_text(message)
    assert all(f"*{s.name}*" in text for s in statuses)
    assert "not shown" not in text


def test_status_with_200_verbose_systems_summarises_the_rest() -> None:
    statuses = [
        status(n, reachable=n % 2 == 0 and None, error="E" * 1000, result="error: " + "R" * 1000) for n in range(200)
    ]
    message = blocks.status_blocks(statuses)
    assert_within_limits(message)
    text = all_text(message)
    shown = [s for s in statuses if f"*{s.name}*" in text]
    assert 0 < len(shown) < 200
    assert shown == statuses[: len(shown)]
    hidden = statuses[len(shown) :]
    unreachable = sum(1 for s in hidden if s.reachable is False)
    unknown = sum(1 for s in hidden if s.reachable is None)
    assert (
        f"{len(hidden)} more system(s) not shown: {unreachable} unreachable, {unknown} not contacted yet"
        in contexts(message)
    )


def test_status_fits_a_home_tab_view() -> None:
    from slack_sdk.models.views import View

    status_dicts = blocks.status_blocks([status(n) for n in range(200)])
    View(type="home", blocks=status_dicts).to_dict()  # validates 1–100 blocks


def test_ibm_i_values_go_in_code_spans_and_user_text_is_escaped_once() -> None:
    assert blocks.ibmi_mrkdwn("Output queue PAYLIB/PAYROLL: DSPDTA(*YES) with *PUBLIC *USE, pattern PAY*") == (
        "Output queue `PAYLIB/PAYROLL`: `DSPDTA(*YES)` with `*PUBLIC` `*USE`, pattern `PAY*`"
    )
    assert blocks.ibmi_mrkdwn("already `*ACCEPT` in TCP/IP <!here> & co") == (
        "already `*ACCEPT` in TCP/IP &lt;!here&gt; &amp; co"
    )
    assert blocks.emphasised("Connections from 10.1.1.9 & co") == "*Connections from 10.1.1.9 &amp; co*"
    assert blocks.emphasised("*ACCEPT entry 0.0.0.0") == "`*ACCEPT` entry 0.0.0.0"
    assert blocks.unescape_slack("&lt;!channel&gt; R&amp;D &amp;lt;") == "<!channel> R&D &lt;"
    assert blocks.mention("U01OPERATOR") == "<@U01OPERATOR>" and blocks.mention("ibmi-warden") == "ibmi-warden"


def test_clipped_mrkdwn_never_cuts_an_escape_or_a_value_in_half() -> None:
    text = "DSPDTA(*YES) with *PUBLIC *USE & more & more"
    for limit in range(2, 60):
        clipped = blocks.clip_mrkdwn(text, limit, blocks.ibmi_mrkdwn)
        assert len(clipped) <= limit or clipped == "…"
        assert clipped.count("`") % 2 == 0 and not clipped.rstrip("…").endswith(("&", "&am", "*"))
    assert blocks.clip_mrkdwn(text, 100, blocks.ibmi_mrkdwn) == blocks.ibmi_mrkdwn(text)
