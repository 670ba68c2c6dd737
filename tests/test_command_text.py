"""`/ibmi …` text → ParsedCommand, or a UsageError that says what was wrong and the right form."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.command_text import SUB_COMMANDS, ParsedCommand, UsageError, parse_command_text

SYSTEMS = ["PROD", "Dev2"]
NETSTAT_USAGE = "/ibmi netstat [SYSTEM] [--port N]"


def parse(text: str, systems: list[str] | None = None, slash: str = "/ibmi") -> ParsedCommand:
    return parse_command_text(text, SYSTEMS if systems is None else systems, slash)


def usage_error(text: str, systems: list[str] | None = None, slash: str = "/ibmi") -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse(text, systems, slash)
    error = caught.value
    assert error.problem and error.usage, f"{text!r}: every error needs a problem and a usage"
    assert error.usage.startswith(slash + " ")
    return error


# --- valid commands -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\t", "\n"])
def test_empty_text_is_help(text: str) -> None:
    assert parse(text) == ParsedCommand("help")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("help", ParsedCommand("help")),
        ("HELP", ParsedCommand("help")),
        ("status", ParsedCommand("status")),
        ("  Status  ", ParsedCommand("status")),
        ("status @prod", ParsedCommand("status", "PROD")),
    ],
)
def test_help_and_status(text: str, expected: ParsedCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text, system, port",
    [
        ("netstat", None, None),
        ("netstat PROD", "PROD", None),
        ("netstat prod", "PROD", None),
        ("netstat @prod", "PROD", None),
        ("netstat @PROD", "PROD", None),
        ("netstat @dev2", "Dev2", None),
        ("netstat DEV2 -p 446", "Dev2", 446),
        ("netstat --system PROD --port 23", "PROD", 23),
        ("netstat --system=prod --port=23", "PROD", 23),
        ("netstat --port=23", None, 23),
        ("netstat -p 23", None, 23),
        ("netstat --port 23 PROD", "PROD", 23),
        ("netstat --port 1", None, 1),
        ("netstat --port 65535", None, 65535),
        ("NETSTAT 'PROD' --port \"23\"", "PROD", 23),
    ],
)
def test_netstat(text: str, system: str | None, port: int | None) -> None:
    assert parse(text) == ParsedCommand("netstat", system, port)


def test_every_sub_command_is_available() -> None:
    assert all(sub.available for sub in SUB_COMMANDS)


@pytest.mark.parametrize("sub", [s for s in SUB_COMMANDS if s.available], ids=lambda s: s.name)
def test_every_available_example_parses(sub) -> None:
    assert parse(sub.example).name == sub.name


# --- errors -------------------------------------------------------------------------------------------------


def test_unknown_sub_command() -> None:
    error = usage_error("netsta PROD")
    assert "`netsta` is not a sub-command" in error.problem
    for sub in SUB_COMMANDS:
        assert sub.name in error.problem
    assert error.usage == "/ibmi help"


def test_usage_uses_the_configured_slash_command() -> None:
    assert usage_error("bogus", slash="/warden").usage == "/warden help"
    assert usage_error("netstat --port 0", slash="/warden").usage == "/warden netstat [SYSTEM] [--port N]"


@pytest.mark.parametrize("text", ["netstat TEST", "netstat @test", "netstat --system TEST", "status @TEST"])
def test_unknown_system_lists_the_configured_ones(text: str) -> None:
    error = usage_error(text)
    assert "Unknown system `" in error.problem and "TEST" in error.problem.upper()
    assert "PROD, Dev2" in error.problem


def test_unknown_system_when_none_are_configured() -> None:
    error = usage_error("netstat PROD", systems=[])
    assert "Unknown system `PROD`" in error.problem and "No systems are configured" in error.problem


@pytest.mark.parametrize("text", ["netstat --system", "netstat --system=", "netstat @"])
def test_system_option_without_a_name(text: str) -> None:
    error = usage_error(text)
    assert "needs a system name" in error.problem
    assert error.usage == NETSTAT_USAGE


@pytest.mark.parametrize(
    "port, shown",
    [
        ("0", "0"),
        ("65536", "65536"),
        ("99999999999999999999", "99999999999999999999"),
        ("abc", "abc"),
        ("２３", "２３"),  # fullwidth digits: str.isdigit() says yes, a port number says no
        ("23x", "23x"),
        ("-1", "-1"),
        ("2.3", "2.3"),
        ("", "(nothing)"),
    ],
)
@pytest.mark.parametrize("form", ["netstat --port {}", "netstat --port={}", "netstat -p {}"])
def test_bad_port(port: str, shown: str, form: str) -> None:
    text = form.format(f"'{port}'" if port else "")
    error = usage_error(text)
    assert f"`{shown}` is not a port" in error.problem
    assert "1 to 65535" in error.problem
    assert error.usage == NETSTAT_USAGE


def test_port_given_twice() -> None:
    error = usage_error("netstat --port 23 -p 80")
    assert "port once" in error.problem
    assert error.usage == NETSTAT_USAGE


@pytest.mark.parametrize("option", ["--verbose", "-x", "--PORT", "--ports=23"])
def test_unknown_option(option: str) -> None:
    error = usage_error(f"netstat PROD {option}")
    assert f"Unknown option `{option}`" in error.problem
    assert error.usage == NETSTAT_USAGE


def test_too_many_arguments() -> None:
    error = usage_error("netstat PROD Dev2")
    assert "Too many arguments" in error.problem and "PROD Dev2" in error.problem
    assert error.usage == NETSTAT_USAGE


@pytest.mark.parametrize("text", ["help me", "status PROD"])
def test_arguments_to_commands_that_take_none(text: str) -> None:
    error = usage_error(text)
    assert "takes no arguments" in error.problem
    assert error.usage == "/ibmi " + text.split()[0]


@pytest.mark.parametrize(
    "text",
    [
        "netstat PROD @prod",
        "netstat @PROD PROD",
        "netstat @PROD --system Dev2",
        "netstat --system PROD --system=PROD",
    ],
)
def test_system_named_twice(text: str) -> None:
    error = usage_error(text)
    assert "Name the system once" in error.problem
    assert error.usage == NETSTAT_USAGE


@pytest.mark.parametrize("text", ['netstat "PROD', "netstat 'PROD", 'help "'])
def test_unbalanced_quotes(text: str) -> None:
    error = usage_error(text)
    assert "Unbalanced quotes" in error.problem
    assert error.usage == "/ibmi " + {"netstat": "netstat [SYSTEM] [--port N]", "help": "help"}[text.split()[0]]


def test_unbalanced_quotes_in_an_unknown_command_point_to_help() -> None:
    assert usage_error('what "is this').usage == "/ibmi help"


def test_trailing_backslash_is_not_called_a_quote_problem() -> None:
    error = usage_error("netstat PROD\\")
    assert "backslash" in error.problem
    assert error.usage == NETSTAT_USAGE


def test_text_over_2000_characters() -> None:
    assert parse("netstat " + " " * 1992) == ParsedCommand("netstat")  # exactly 2000
    error = usage_error("netstat " + "x" * 1993)
    assert "2001 characters" in error.problem and "2000" in error.problem
    assert error.usage == NETSTAT_USAGE
    assert len(error.problem) < 200


def test_echoed_input_is_one_line_without_backticks_and_short() -> None:
    error = usage_error("netstat --port `rm\n-rf`")
    assert "\n" not in error.problem
    assert error.problem.count("`") == 2
    error = usage_error("x" * 500)
    assert len(error.problem) < 200


# --- properties ---------------------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "help",
        "status",
        "netstat",
        "NETSTAT",
        "trace",
        "PROD",
        "prod",
        "@prod",
        "@",
        "@Dev2",
        "--system",
        "--system=",
        "--system=dev2",
        "--port",
        "--port=",
        "-p",
        "23",
        "0",
        "65536",
        "２３",
        '"',
        "'",
        "\\",
        "`",
        "\n",
        "\x00",
        "\u202e",
        "--",
        "-",
    ]
)
_TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(_WORDS, st.text(max_size=8)), max_size=12).map(" ".join),
    st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=4), st.integers(400, 800)),
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_any_text_parses_or_raises_usage_error(text: str) -> None:
    try:
        parsed = parse(text)
    except UsageError as error:
        problem = error.problem
        assert problem and error.usage
        assert "\n" not in problem and "\r" not in problem
        assert all(c.isprintable() for c in problem), repr(problem)
        assert len(problem) <= 300
        # Backticks in the problem come from its own quoting, never from the input: the same text with every
        # backtick replaced by a plain letter gives a problem with as many backticks.
        with pytest.raises(UsageError) as plain:
            parse(text.replace("`", "x"))
        assert problem.count("`") == plain.value.problem.count("`")
        return
    assert isinstance(parsed, ParsedCommand)
    assert parsed.name in {s.name for s in SUB_COMMANDS}
    assert parsed.system is None or parsed.system in SYSTEMS
    assert parsed.port is None or 1 <= parsed.port <= 65535
