"""The one address and network policy (bot.net): what a person types, read the same in /ibmi, the CLI and the config."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.command_parsing import TraceRequest, UsageError
from bot.net import (
    AddressProblem,
    is_local,
    parse_address,
    parse_typed_address,
    parse_typed_network,
    plain_address,
    quoted,
    unmapped,
)
from handlers.commands import parse_command_text
from tests.test_cli import write_config
from tests.test_config import DEMO_SYSTEM, single_problem, with_system

A = ipaddress.ip_address
N = ipaddress.ip_network


# --- addresses ------------------------------------------------------------------------------------------------

ACCEPTED_ADDRESSES = [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8::7", "2001:db8::7"),
    ("2001:DB8:0:0:0:0:0:7", "2001:db8::7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: its IPv4 address, as in NETSTAT rows
    ("::FFFF:cb00:7107", "203.0.113.7"),
    ("::203.0.113.7", "::cb00:7107"),  # IPv4-compatible is not mapped: it stays IPv6
    (" 203.0.113.7\n", "203.0.113.7"),  # ASCII white space around it is ignored
    ("0.0.0.0", "0.0.0.0"),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED_ADDRESSES)
def test_typed_addresses_that_are_accepted(text: str, expected: str) -> None:
    assert parse_typed_address(text) == A(expected)


REFUSED_ADDRESSES = [
    ("", "empty", "Nothing was given; give an IPv4 address such as 203.0.113.7"),
    ("   ", "empty", "Nothing was given"),
    ("[2001:db8::7]", "brackets", "“[2001:db8::7]” is in brackets; give the address without them."),
    ("fe80::1%eth0", "zone", "“fe80::1%eth0” has a zone id (after %); give the address without it."),
    ("203.0.113.0/24", "network", "“203.0.113.0/24” is a network; give one address, an IPv4 address such as"),
    ("203.0.113.7/32", "network", "is a network"),
    ("010.1.1.1", "leading_zeros", "is not an IP address: it has leading zeros, which are ambiguous (octal or"),
    ("1.2.3.04", "leading_zeros", "has leading zeros"),
    ("example.com", "host_name", "“example.com” looks like a host name; ibmi-warden does not look names up."),
    ("localhost", "host_name", "looks like a host name"),
    ("２０３.0.113.7", "lookalike", "characters that only look like ASCII digits or letters; type an IPv4"),
    ("203.0.113.7\u00a0", "lookalike", "only look like ASCII"),  # other white space is not ignored
    ("203.0.113.256", "invalid", "“203.0.113.256” is not an IP address; expected an IPv4 address such as"),
    ("1.2.3", "invalid", "is not an IP address"),
    ("fe80::1::2", "invalid", "is not an IP address"),
    ("0x7f.0.0.1", "host_name", "looks like a host name"),  # as a name may be written
    ("2130706433", "invalid", "is not an IP address"),
]


@pytest.mark.parametrize(("text", "kind", "message"), REFUSED_ADDRESSES)
def test_typed_addresses_that_are_refused_say_why_and_what_is_accepted(text: str, kind: str, message: str) -> None:
    with pytest.raises(AddressProblem) as raised:
        parse_typed_address(text)
    assert raised.value.kind == kind
    assert message in str(raised.value)
    assert str(raised.value).endswith((".", "?"))


def test_the_message_names_what_the_caller_accepts_and_quotes_as_the_medium_does() -> None:
    with pytest.raises(AddressProblem) as raised:
        parse_typed_address("example.com", "an address or a fingerprint")
    problem = raised.value
    assert problem.message(lambda text: f"`{text}`") == (
        "`example.com` looks like a host name; ibmi-warden does not look names up. Give an address or a fingerprint."
    )
    assert (problem.shown, problem.reason) == ("example.com", "looks like a host name")


def test_shown_text_is_one_printable_line_of_at_most_60_characters() -> None:
    assert quoted("a\nb\x1b[31m") == "“a?b?[31m”"
    assert len(quoted("x" * 500)) == 62 and quoted("x" * 500).endswith("…”")


# --- networks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("192.0.2.7", "192.0.2.7/32"),  # one address is a /32 or /128 network
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:db8::5", "2001:db8::5/128"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("10.0.0.0/08", "10.0.0.0/8"),
        (" 10.0.0.0/8 ", "10.0.0.0/8"),
        ("10.0.0.0/255.0.0.0", "10.0.0.0/8"),  # a dotted mask, as configurations have always written it
        ("192.168.7.0/255.255.255.0", "192.168.7.0/24"),
    ],
)
def test_typed_networks_that_are_accepted(text: str, expected: str) -> None:
    assert parse_typed_network(text) == N(expected)


@pytest.mark.parametrize(
    ("text", "kind", "message", "suggestion"),
    [
        ("10.1.1.5/24", "host_bits", "“10.1.1.5/24” has host bits set; did you mean 10.1.1.0/24?", "10.1.1.0/24"),
        ("2001:db8::1/32", "host_bits", "did you mean 2001:db8::/32?", "2001:db8::/32"),
        (
            "10.0.0.0/33",
            "prefix",
            "“/33” is not a prefix length; expected /0 to /32 for IPv4 (or a contiguous mask",
            None,
        ),
        ("2001:db8::/129", "prefix", "expected /0 to /128 for IPv6.", None),
        (
            "10.0.0.0/255.0.255.0",
            "prefix",
            "“/255.0.255.0” is not a prefix length; expected /0 to /32 for IPv4 (or a",
            None,
        ),
        ("10.1.0.0/255.0.0.0", "host_bits", "did you mean 10.0.0.0/8?", "10.0.0.0/8"),
        ("2001:db8::/ffff::", "prefix", "expected /0 to /128 for IPv6.", None),
        ("10.0.0.0/", "prefix", "“/” is not a prefix length", None),
        ("10.0.0.0/-8", "prefix", "is not a prefix length", None),
        ("10.0.0.0/８", "prefix", "“/８” is not a prefix length", None),
        ("/8", "invalid", "“/8” is not an IP address or network", None),
        ("::ffff:10.1.1.5", "mapped", "IPv4-mapped IPv6 address; give the IPv4 form, 10.1.1.5.", "10.1.1.5"),
        ("::ffff:10.1.0.0/112", "mapped", "IPv4-mapped IPv6 network; give the IPv4 form, 10.1.0.0/16.", "10.1.0.0/16"),
        ("::ffff:10.1.1.5/104", "mapped", "give the IPv4 form, 10.0.0.0/8.", "10.0.0.0/8"),
        ("::ffff:0.0.0.0/95", "mapped", "give the IPv4 form.", None),
        ("[2001:db8::]/32", "brackets", "is in brackets", None),
        ("fe80::%eth0/64", "zone", "has a zone id", None),
        ("010.0.0.0/8", "leading_zeros", "has leading zeros", None),
        ("vpn.example.com", "host_name", "looks like a host name", None),
        ("10.0.0.300/8", "invalid", "“10.0.0.300” is not an IP address; expected an address such as", None),
    ],
)
def test_typed_networks_that_are_refused(text: str, kind: str, message: str, suggestion: str | None) -> None:
    with pytest.raises(AddressProblem) as raised:
        parse_typed_network(text)
    assert (raised.value.kind, raised.value.suggestion) == (kind, suggestion)
    assert message in str(raised.value)


def test_every_suggestion_is_itself_accepted() -> None:
    for text in ("10.1.1.5/24", "2001:db8::1/32", "::ffff:10.1.0.0/112", "::ffff:10.1.1.5/104", "::ffff:10.1.1.5"):
        with pytest.raises(AddressProblem) as raised:
            parse_typed_network(text)
        assert raised.value.suggestion is not None
        assert parse_typed_network(raised.value.suggestion)


def test_problem_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="not one of"):
        AddressProblem("odd", "x", "is odd", "give something else.")


# --- the configuration file reads trusted networks by the same policy -------------------------------------------


def test_a_dotted_mask_is_read_the_same_by_the_configuration_and_by_slack(tmp_path: Path) -> None:
    from bot.config import load_config
    from tests.test_config import write

    text = with_system(DEMO_SYSTEM.replace("10.0.0.0/8", "10.0.0.0/255.0.0.0"))
    config = load_config(write(tmp_path, text), env={})
    assert config.systems[0].trusted[0] == N("10.0.0.0/8")
    assert parse_command_text("trust 10.0.0.0/255.0.0.0 the office", []).request.network == N("10.0.0.0/8")


@pytest.mark.parametrize(
    ("network", "problem"),
    [
        ("[10.0.0.0]/8", "'[10.0.0.0]' is in brackets; give the address without them"),
        ("10.0.0.0/255.0.255.0", "'/255.0.255.0' is not a prefix length; expected /0 to /32 for IPv4 (or a contiguous"),
        ("vpn.example.com", "'vpn.example.com' looks like a host name; ibmi-warden does not look names up."),
        ("010.0.0.0/8", "has leading zeros"),
        ("１０.0.0.0/8", "only look like ASCII"),
    ],
)
def test_the_configuration_refuses_what_slack_refuses(tmp_path: Path, network: str, problem: str) -> None:
    found = single_problem(tmp_path, with_system(DEMO_SYSTEM.replace("10.0.0.0/8", network)))
    assert "systems[0].trusted[0]: " in found and problem in found
    with pytest.raises(UsageError):
        parse_command_text(f"trust {network} reason", [])


# --- addresses as IBM i shows them: lenient ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[2001:db8::7]", "2001:db8::7"),
        ("fe80::1%eth0", "fe80::1"),
        ("[fe80::1%25en0]", "fe80::1"),
        ("::ffff:10.1.20.58", "10.1.20.58"),
        ("  8.8.8.8\n", "8.8.8.8"),
        ("garbage", None),
        (None, None),
        ("010.1.1.1", None),
    ],
)
def test_netstat_text_is_read_leniently(text: str | None, expected: str | None) -> None:
    assert parse_address(text) == (None if expected is None else A(expected))


def test_small_helpers() -> None:
    assert unmapped(A("::ffff:1.2.3.4")) == A("1.2.3.4") and unmapped(A("::1")) == A("::1")
    assert is_local(A("127.0.0.2")) and is_local(A("::")) and not is_local(A("10.0.0.1"))
    assert plain_address("1.2.3.4") == A("1.2.3.4")
    assert plain_address("[::1]") is None and plain_address("fe80::1%1") is None and plain_address("１.2.3.4") is None


# --- /ibmi trace and ibmi-warden trace accept and refuse the same inputs -------------------------------------------

PARITY_INPUTS = [
    "203.0.113.7",
    "2001:db8::7",
    "2001:DB8::7",
    "::ffff:203.0.113.7",
    "[2001:db8::7]",
    "fe80::1%eth0",
    "203.0.113.0/24",
    "203.0.113.7/32",
    "10.1.1.5/24",
    "010.1.1.1",
    "example.com",
    "localhost",
    "２０３.0.113.7",
    "203.0.113.256",
    "1.2.3",
    "",
]


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """`main` configures the root logger for the terminal; put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def slack_trace(text: str) -> tuple[bool, str]:
    """(accepted, the address or the problem) from `/ibmi trace TEXT`, as Slack sends it (HTML-escaped)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    try:
        parsed = parse_command_text(f"trace {escaped}", [])
    except UsageError as error:
        return False, error.problem
    assert isinstance(parsed.request, TraceRequest)
    return True, str(parsed.request.address)


def cli_trace(text: str, config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    """(accepted, the address or the problem) from `ibmi-warden trace TEXT`."""
    status = main(["trace", "--config", str(config), text])
    out, err = capsys.readouterr()
    if status == 0:
        return True, out.split(": ", 1)[0]
    return False, err.removeprefix("ibmi-warden: cannot trace: ").strip()


def reason_after_the_quote(problem: str) -> str:
    """The problem without the echoed text, which each medium quotes its own way (`x` in Slack, “x” on a terminal)."""
    for closing in ("` ", "” "):
        if closing in problem:
            return problem.split(closing, 1)[1]
    return problem


def test_slack_and_the_command_line_accept_and_refuse_the_same_addresses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cli_logging: None
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    accepted = []
    for text in PARITY_INPUTS:
        slack_ok, slack_answer = slack_trace(text)
        cli_ok, cli_answer = cli_trace(text, config, capsys)
        assert slack_ok == cli_ok, (text, slack_answer, cli_answer)
        if slack_ok:
            accepted.append(text)
            assert slack_answer == cli_answer, text  # the same address, IPv4-mapped unwrapped in both
        elif text:
            assert reason_after_the_quote(slack_answer) == reason_after_the_quote(cli_answer), text
    assert accepted == ["203.0.113.7", "2001:db8::7", "2001:DB8::7", "::ffff:203.0.113.7"]


def test_an_ipv4_mapped_address_renders_with_its_dotted_tail_on_every_python():
    """Python 3.13 prints ::ffff:10.1.20.58; 3.11 printed ::ffff:a01:143a. The bot renders one form on both."""
    import ipaddress

    from bot.net import render_address

    assert render_address(ipaddress.IPv6Address("::ffff:10.1.20.58")) == "::ffff:10.1.20.58"
    assert render_address(ipaddress.IPv6Address("::ffff:a01:143a")) == "::ffff:10.1.20.58"
    assert render_address(ipaddress.IPv6Address("2001:db8::1")) == "2001:db8::1"
    assert render_address(ipaddress.IPv4Address("10.1.20.58")) == "10.1.20.58"


def test_endtcpcnn_for_a_mapped_connection_shows_the_dotted_address():
    from bot.ibmi.cl import EndTcpConnection

    command = EndTcpConnection.build(
        local_address="::ffff:10.1.1.5", local_port=446, remote_address="::ffff:10.1.20.58", remote_port=50990
    )
    assert "LCLINTNETA('::ffff:10.1.1.5')" in command.to_cl() and "RMTINTNETA('::ffff:10.1.20.58')" in command.to_cl()
