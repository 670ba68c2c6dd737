"""`/ibmi …` text → ParsedCommand with validated values, or a UsageError that says what was wrong and the right
form. Hostile text in every parameter, and fuzzed command texts, never get further than a UsageError."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.command_parsing import (
    AuditRequest,
    ClRequest,
    EndRequest,
    ParsedCommand,
    SilenceRequest,
    SmtpAddFormRequest,
    SmtpListRequest,
    TraceRequest,
    TrustRequest,
    UnsilenceRequest,
    UntrustRequest,
    UsageError,
)
from bot.ibmi import cl
from bot.ibmi.cl import AddSmtpListEntry, ChangeSmtpRelay, RemoveSmtpListEntry
from handlers.commands import SUB_COMMANDS, parse_command_text, usage_of

SYSTEMS = ["PROD", "Dev2"]
NETSTAT_USAGE = "/ibmi netstat [SYSTEM] [--port N]"
SMTP_ADD_USAGE = "/ibmi smtp add [accept|reject IP [MASK] REASON]"
SMTP_REMOVE_USAGE = "/ibmi smtp remove accept|reject IP [MASK] [REASON]"
SMTP_LIST_USAGE = "/ibmi smtp list [accept|reject]"
RELAY_USAGE = "/ibmi relay set none|list|near|both REASON"
TRUST_USAGE = "/ibmi trust IP|CIDR REASON"
SILENCE_USAGE = "/ibmi silence IP|FINGERPRINT DURATION REASON"
A = ipaddress.ip_address
N = ipaddress.ip_network
FINGERPRINT = "0123456789abcdef"


def parse(text: str, systems: list[str] | None = None, slash: str = "/ibmi") -> ParsedCommand:
    return parse_command_text(text, SYSTEMS if systems is None else systems, slash)


def usage_error(text: str, systems: list[str] | None = None, slash: str = "/ibmi") -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse(text, systems, slash)
    error = caught.value
    assert error.problem and error.usage, f"{text!r}: every error needs a problem and a usage"
    assert error.usage.startswith(slash + " ")
    assert_safe_problem(error.problem)
    return error


def assert_safe_problem(problem: str) -> None:
    """One line of printable text, short, its backticks paired (they quote the echoed input)."""
    assert "\n" not in problem and "\r" not in problem
    assert all(c.isprintable() for c in problem), repr(problem)
    assert len(problem) <= 300, problem
    assert problem.count("`") % 2 == 0, problem


def request(text: str) -> Any:
    return parse(text).request


def smtp(command: type, list_type: str, address: str, mask: str | None, reason: str = "") -> ClRequest:
    return ClRequest(command.build(list_type, address, mask), reason)


def relay(value: str, reason: str = "") -> ClRequest:
    return ClRequest(ChangeSmtpRelay.build(value), reason)


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


EXPECTED_REQUEST_TYPES: dict[str, tuple[type, ...]] = {
    "help": (type(None),),
    "status": (type(None),),
    "netstat": (type(None),),
    "approvals": (type(None),),
    "trace": (TraceRequest,),
    "end": (EndRequest,),
    "smtp": (SmtpListRequest, SmtpAddFormRequest, ClRequest),
    "relay": (ClRequest,),
    "trust": (TrustRequest,),
    "untrust": (UntrustRequest,),
    "silence": (SilenceRequest,),
    "unsilence": (UnsilenceRequest,),
    "audit": (AuditRequest,),
}


@pytest.mark.parametrize("sub", SUB_COMMANDS, ids=lambda s: s.name)
def test_every_available_example_parses(sub) -> None:
    parsed = parse(sub.example)
    assert parsed.name == sub.name
    assert isinstance(parsed.request, EXPECTED_REQUEST_TYPES[sub.name])
    assert_valid(parsed)


def test_every_sub_command_has_its_request_type() -> None:
    assert set(EXPECTED_REQUEST_TYPES) == {sub.name for sub in SUB_COMMANDS}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("trace 203.0.113.7", TraceRequest(A("203.0.113.7"))),
        ("TRACE 2001:DB8::7", TraceRequest(A("2001:db8::7"))),
        ("trace ::ffff:10.1.1.1", TraceRequest(A("10.1.1.1"))),  # IPv4-mapped: unwrapped, as NETSTAT rows are
        ("trace '198.51.100.9'", TraceRequest(A("198.51.100.9"))),
        ("end 203.0.113.7", EndRequest(A("203.0.113.7"))),
        ("end 203.0.113.7 23", EndRequest(A("203.0.113.7"), 23)),
        ("end 203.0.113.7 65535 unknown telnet session", EndRequest(A("203.0.113.7"), 65535, "unknown telnet session")),
        ("end 203.0.113.7 vendor's test box", EndRequest(A("203.0.113.7"), None, "vendor's test box")),
        ("end ::ffff:203.0.113.7 1", EndRequest(A("203.0.113.7"), 1)),
        ("end 2001:db8::9 446", EndRequest(A("2001:db8::9"), 446)),
        ("smtp list", SmtpListRequest()),
        ("smtp LIST Accept", SmtpListRequest("*ACCEPT")),
        ("smtp list *reject", SmtpListRequest("*REJECT")),
        ("smtp add", SmtpAddFormRequest()),
        (
            "smtp add accept 10.1.1.0 255.255.255.0 branch office",
            smtp(AddSmtpListEntry, "*ACCEPT", "10.1.1.0", "255.255.255.0", "branch office"),
        ),
        (
            "smtp add accept 10.1.1.0 /24 branch office",
            smtp(AddSmtpListEntry, "*ACCEPT", "10.1.1.0", "/24", "branch office"),
        ),
        (
            "smtp add accept 10.1.1.0/24 branch office",
            smtp(AddSmtpListEntry, "*ACCEPT", "10.1.1.0", "/24", "branch office"),
        ),
        ("smtp add reject 192.0.2.1 spam source", smtp(AddSmtpListEntry, "*REJECT", "192.0.2.1", None, "spam source")),
        ("smtp add REJECT 192.0.2.0/255.255.255.0", smtp(AddSmtpListEntry, "*REJECT", "192.0.2.0", "255.255.255.0")),
        (
            "smtp add reject 0.0.0.0 0.0.0.0 block everyone",
            smtp(AddSmtpListEntry, "*REJECT", "0.0.0.0", "/0", "block everyone"),
        ),
        ("smtp add accept 10.1.1.5 /32", smtp(AddSmtpListEntry, "*ACCEPT", "10.1.1.5", None)),
        (
            "smtp remove accept 0.0.0.0 0.0.0.0 close the open relay",
            smtp(RemoveSmtpListEntry, "*ACCEPT", "0.0.0.0", "/0", "close the open relay"),
        ),
        ("smtp remove reject 192.0.2.1", smtp(RemoveSmtpListEntry, "*REJECT", "192.0.2.1", None)),
        ("smtp remove *ACCEPT 10.1.1.0 /24", smtp(RemoveSmtpListEntry, "*ACCEPT", "10.1.1.0", "/24")),
        ("relay set list close the open relay", relay("*LIST", "close the open relay")),
        ("relay SET *None", relay("*NONE")),
        ("relay set near x", relay("*NEAR", "x")),
        ("relay set BOTH x", relay("*BOTH", "x")),
        ("trust 198.51.100.0/24 vendor VPN", TrustRequest(N("198.51.100.0/24"), "vendor VPN")),
        ("trust 198.51.100.7 vendor VPN", TrustRequest(N("198.51.100.7/32"), "vendor VPN")),
        ("trust 2001:db8::/32 lab", TrustRequest(N("2001:db8::/32"), "lab")),
        ("trust 2001:db8::1", TrustRequest(N("2001:db8::1/128"))),
        ("trust 0.0.0.0/0 everything", TrustRequest(N("0.0.0.0/0"), "everything")),  # breadth is policy's call
        ("trust 10.0.0.0/08 x", TrustRequest(N("10.0.0.0/8"), "x")),
        ("untrust 198.51.100.0/24", UntrustRequest(N("198.51.100.0/24"))),
        ("untrust 198.51.100.0/24 contract ended", UntrustRequest(N("198.51.100.0/24"), "contract ended")),
        ("silence 203.0.113.7 4h vendor test", SilenceRequest("address", "203.0.113.7", 14400.0, "vendor test")),
        ("silence 2001:DB8::7 1m", SilenceRequest("address", "2001:db8::7", 60.0)),
        ("silence ::ffff:10.1.1.1 30d x", SilenceRequest("address", "10.1.1.1", 2592000.0, "x")),
        ("silence 0123456789abcdef 1h30m noisy", SilenceRequest("fingerprint", FINGERPRINT, 5400.0, "noisy")),
        ("silence 0123456789abcdef 0.5H x", SilenceRequest("fingerprint", FINGERPRINT, 1800.0, "x")),
        ("unsilence 203.0.113.7", UnsilenceRequest("address", "203.0.113.7")),
        ("unsilence 0123456789abcdef", UnsilenceRequest("fingerprint", FINGERPRINT)),
        ("audit", AuditRequest(10)),
        ("audit 1", AuditRequest(1)),
        ("audit 100", AuditRequest(100)),
        ("audit 020", AuditRequest(20)),
    ],
)
def test_sub_command_values(text: str, expected: Any) -> None:
    parsed = parse(text)
    assert parsed == ParsedCommand(text.split()[0].lower(), request=expected)
    assert_valid(parsed)


def test_approvals() -> None:
    assert parse("approvals") == ParsedCommand("approvals")
    assert parse("approvals @dev2") == ParsedCommand("approvals", "Dev2")


@pytest.mark.parametrize(
    "text, request_type, action",
    [
        ("end 203.0.113.7", EndRequest, "end-connection"),
        ("smtp add accept 10.1.1.0 /24 x", ClRequest, "smtp-add"),
        ("smtp remove accept 10.1.1.0 /24", ClRequest, "smtp-remove"),
        ("relay set none x", ClRequest, "relay-set"),
        ("trust 10.1.1.0/24 x", TrustRequest, "trust"),
        ("untrust 10.1.1.0/24", UntrustRequest, "untrust"),
    ],
)
def test_change_requests_name_their_approval_policy(text: str, request_type: type, action: str) -> None:
    parsed_request = request(text)
    assert type(parsed_request) is request_type
    assert parsed_request.action == action


@pytest.mark.parametrize(
    "text, cl_text",
    [
        (
            "smtp add accept 10.1.1.0 255.255.255.0 branch office",
            "QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')",
        ),
        (
            "smtp remove reject 192.0.2.1",
            "QSYS/RMVSMTPLE TYPE(*REJECT) INTNETADR('192.0.2.1') SUBNETMASK('255.255.255.255')",
        ),
        ("relay set list close the open relay", "QSYS/CHGSMTPA ALWRLY(*LIST)"),
    ],
)
def test_cl_requests_give_the_exact_command(text: str, cl_text: str) -> None:
    parsed_request = request(text)
    assert parsed_request.to_cl() == cl_text
    assert cl.parse(cl_text) == parsed_request.command


# --- system selection, quoting, reasons ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, system, reason",
    [
        ("trust 10.1.1.0/24 ask @bob", None, "ask @bob"),
        ("trust 10.1.1.0/24 ask @bob @prod", "PROD", "ask @bob"),
        ("trust @PROD 10.1.1.0/24 ask @bob", "PROD", "ask @bob"),
        ("trust 10.1.1.0/24 ask @dev2 about it", "Dev2", "ask about it"),
        ("trust 10.1.1.0/24 --system dev2 x", "Dev2", "x"),
        ("trust --system=Dev2 10.1.1.0/24 x", "Dev2", "x"),
        ("trust 10.1.1.0/24 email bob@example.com", None, "email bob@example.com"),
        ("trust 10.1.1.0/24 @ noon", None, "@ noon"),
        ("trust 10.1.1.0/24 '@prod is where'", None, "@prod is where"),  # quoted with others: one word, text
    ],
)
def test_at_word_selects_a_system_only_when_it_names_one(text: str, system: str | None, reason: str) -> None:
    parsed = parse(text)
    assert parsed.system == system
    assert parsed.request == TrustRequest(N("10.1.1.0/24"), reason)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("trace @test", "Unknown system `test`. Configured systems: PROD, Dev2."),
        ("trace @", "`@` needs a system name."),
        ("trace 203.0.113.7 @test", "Unknown system `test`."),
        ("unsilence @test", "Unknown system `test`."),
        ("audit @test", "Unknown system `test`."),
        ("smtp @test", "Unknown system `test`."),
        ("approvals @test", "Unknown system `test`."),
        ("trust 10.1.1.0/24 --system TEST x", "Unknown system `TEST`."),
        ("trust 10.1.1.0/24 x @prod y @dev2", "Name the system once."),
        ("end 203.0.113.7 @prod --system prod", "Name the system once."),
    ],
)
def test_system_selection_errors(text: str, problem: str) -> None:
    assert problem in usage_error(text).problem


@pytest.mark.parametrize(
    "text, reason",
    [
        ("trust 10.1.1.0/24 vendor's VPN", "vendor's VPN"),
        ("trust 10.1.1.0/24 the vendor's and the partner's VPN", "the vendor's and the partner's VPN"),
        ('trust 10.1.1.0/24 "vendor\'s VPN"', "vendor's VPN"),
        ("trust 10.1.1.0/24 'vendor VPN'", "vendor VPN"),
        ("trust 10.1.1.0/24 vendors' VPN", "vendors' VPN"),  # unpaired: split at whitespace, quote kept
        ('trust 10.1.1.0/24 the "new VPN', 'the "new VPN'),
        ("trust 10.1.1.0/24 5' cable", "5' cable"),
        ("trust 10.1.1.0/24 DOMAIN\\svc C:\\temp", "DOMAIN\\svc C:\\temp"),  # backslashes are plain
        ("trust 10.1.1.0/24 ends with \\", "ends with \\"),
        ("trust 10.1.1.0/24   many   spaces  ", "many spaces"),
        ('trust 10.1.1.0/24 "  padded   inside "', "padded inside"),
        ('trust 10.1.1.0/24 x "" y', "x y"),
        ("trust 10.1.1.0/24 ( ) + ; ALWRLY(*ALL)", "( ) + ; ALWRLY(*ALL)"),
        ("trust 10.1.1.0/24 офис ＶＰＮ 東京", "офис ＶＰＮ 東京"),  # any printable text
        ("trust 10.1.1.0/24", ""),
    ],
)
def test_reason_words(text: str, reason: str) -> None:
    assert request(text) == TrustRequest(N("10.1.1.0/24"), reason)


def test_reason_of_500_characters_is_accepted() -> None:
    assert request("trust 10.1.1.0/24 " + "x" * 500).reason == "x" * 500
    assert request("trust 10.1.1.0/24 " + "ab " * 166 + "ab").reason == ("ab " * 166 + "ab")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("trust 10.1.1.0/24 " + "x" * 501, "The reason is 501 characters long; the limit is 500."),
        ("trust 10.1.1.0/24 " + "ab " * 200, "The reason is 599 characters long; the limit is 500."),
        ("trust 10.1.1.0/24 use `rm`", "may not contain backticks"),
        ("trust 10.1.1.0/24 'line one\nline two'", "not printable text (U+000A)"),
        ("trust 10.1.1.0/24 'a\tb'", "(U+0009)"),
        ("trust 10.1.1.0/24 bell\x07", "(U+0007)"),
        ("trust 10.1.1.0/24 nul\x00", "(U+0000)"),
        ("trust 10.1.1.0/24 abc\u202edef", "(U+202E)"),  # right-to-left override
        ("trust 10.1.1.0/24 zero\u200bwidth", "(U+200B)"),
        ("trust 10.1.1.0/24 no\u00a0break", "(U+00A0)"),
        ("relay set list \x1b[31mred", "(U+001B)"),
        ("smtp add accept 10.1.1.0 /24 `x`", "backticks"),
        ("end 203.0.113.7 23 \x00", "(U+0000)"),
        ("silence 203.0.113.7 4h `x`", "backticks"),
        ("untrust 10.1.1.0/24 " + "y" * 600, "600 characters"),
    ],
)
def test_bad_reasons(text: str, problem: str) -> None:
    error = usage_error(text)
    assert problem in error.problem
    assert error.usage == usage_of(text.split()[0], "/ibmi") or error.usage == SMTP_ADD_USAGE


@pytest.mark.parametrize(
    "text, cl_text",
    [
        (
            "smtp add accept 10.1.1.0 /24 x') CHGSMTPA ALWRLY(*ALL) ('",
            "QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')",
        ),
        (
            'smtp remove reject 192.0.2.1 "\'); DLTLIB QGPL"',
            "QSYS/RMVSMTPLE TYPE(*REJECT) INTNETADR('192.0.2.1') SUBNETMASK('255.255.255.255')",
        ),
        ("relay set none + CHGSMTPA ALWRLY(*ALL)", "QSYS/CHGSMTPA ALWRLY(*NONE)"),
    ],
)
def test_cl_text_in_a_reason_is_only_text(text: str, cl_text: str) -> None:
    """The reason is shown and audited, never put into the CL command."""
    parsed_request = request(text)
    assert parsed_request.to_cl() == cl_text
    assert cl.parse(parsed_request.to_cl()) == parsed_request.command


# --- requests made by hand are held to the same rules ---------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: TraceRequest("203.0.113.7"),  # text, not an address object
        lambda: TraceRequest(A("::ffff:10.1.1.1")),  # IPv4-mapped: the parser unwraps it
        lambda: TraceRequest(ipaddress.IPv6Address("fe80::1%eth0")),
        lambda: EndRequest(A("0.0.0.0")),
        lambda: EndRequest(A("203.0.113.7"), 0),
        lambda: EndRequest(A("203.0.113.7"), 65536),
        lambda: EndRequest(A("203.0.113.7"), True),  # type: ignore[arg-type]
        lambda: EndRequest(A("203.0.113.7"), 23, "use `rm`"),
        lambda: EndRequest(A("203.0.113.7"), 23, "two\nlines"),
        lambda: EndRequest(A("203.0.113.7"), 23, "x" * 501),
        lambda: EndRequest(A("203.0.113.7"), 23, "extra  spaces"),
        lambda: EndRequest(A("203.0.113.7"), 23, " padded"),
        lambda: SmtpListRequest("accept"),
        lambda: ClRequest(AddSmtpListEntry.build("*ACCEPT", "0.0.0.0", "0.0.0.0")),
        lambda: ClRequest(cl.EndTcpConnection.build("10.1.1.5", 23, "203.0.113.7", 4000)),  # type: ignore[arg-type]
        lambda: TrustRequest("10.0.0.0/8"),  # type: ignore[arg-type]
        lambda: TrustRequest(N("::ffff:10.0.0.0/104")),
        lambda: UntrustRequest(N("::ffff:10.1.1.1/128")),
        lambda: SilenceRequest("address", "203.0.113.7", 59.0),
        lambda: SilenceRequest("address", "203.0.113.7", 2592001.0),
        lambda: SilenceRequest("address", "203.0.113.7", 3600),  # seconds are a float
        lambda: SilenceRequest("address", "2001:DB8::7", 3600.0),  # not as str() writes it
        lambda: SilenceRequest("address", "::ffff:10.1.1.1", 3600.0),
        lambda: SilenceRequest("host", "example.com", 3600.0),
        lambda: UnsilenceRequest("fingerprint", "0123456789ABCDEF"),
        lambda: UnsilenceRequest("fingerprint", "0123456789abcde"),
        lambda: UnsilenceRequest("address", "203.0.113.7 "),
        lambda: AuditRequest(0),
        lambda: AuditRequest(101),
        lambda: AuditRequest(True),
    ],
)
def test_requests_check_their_values(make: Any) -> None:
    with pytest.raises(ValueError):
        make()


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


@pytest.mark.parametrize(
    "text, problem, usage",
    [
        # trace
        ("trace", "`trace` needs an IP address.", "/ibmi trace IP"),
        ("trace 203.0.113.7 203.0.113.8", "Too many arguments: `203.0.113.8`.", "/ibmi trace IP"),
        ("trace 203.0.113.0/24", "`203.0.113.0/24` is a network; give one address", "/ibmi trace IP"),
        (
            "trace example.com",
            "`example.com` looks like a host name; ibmi-warden does not look names up",
            "/ibmi trace IP",
        ),
        ("trace localhost", "looks like a host name", "/ibmi trace IP"),
        ("trace fe80::1%eth0", "`fe80::1%eth0` has a zone id", "/ibmi trace IP"),
        ("trace [2001:db8::7]", "is in brackets", "/ibmi trace IP"),
        (
            "trace 203.0.113.256",
            "`203.0.113.256` is not an IP address; expected an IPv4 address such as",
            "/ibmi trace IP",
        ),
        ("trace 010.1.1.1", "is not an IP address", "/ibmi trace IP"),
        ("trace 1.2.3", "is not an IP address", "/ibmi trace IP"),
        ("trace ２０３.0.113.7", "characters that only look like ASCII digits or letters", "/ibmi trace IP"),
        ("trace <script>", "`&lt;script&gt;` is not an IP address", "/ibmi trace IP"),
        # end
        ("end", "`end` needs the remote IP address.", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        ("end 0.0.0.0 23", "`0.0.0.0` is the unspecified address", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        ("end :: 23", "`::` is the unspecified address", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        (
            "end 203.0.113.7 0",
            "`0` is not a port; expected a number from 1 to 65535.",
            "/ibmi end IP [PORT] [--local ADDRESS] [REASON]",
        ),
        ("end 203.0.113.7 65536", "`65536` is not a port", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        ("end 203.0.113.7 ２３", "`２３` is not a port", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        (
            "end 203.0.113.7 ٢٣",
            "`٢٣` is not a port",
            "/ibmi end IP [PORT] [--local ADDRESS] [REASON]",
        ),  # Arabic-Indic digits
        ("end 203.0.113.7 23x", "`23x` is not a port", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        ("end 203.0.113.7 -1", "`-1` is not a port", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        ("end 203.0.113.7/32", "is a network", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        ("end host.example 23", "looks like a host name", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]"),
        # smtp
        ("smtp", "`smtp` needs list, add, remove or restart.", usage_of("smtp", "/ibmi")),
        (
            "smtp show",
            "`smtp show`: expected `smtp list`, `smtp add`, `smtp remove` or `smtp restart`.",
            usage_of("smtp", "/ibmi"),
        ),
        ("smtp list both", "`both` is not an SMTP list; expected accept or reject.", SMTP_LIST_USAGE),
        ("smtp list accept reject", "Too many arguments: `reject`.", SMTP_LIST_USAGE),
        ("smtp add allow 10.1.1.0", "`allow` is not an SMTP list; expected accept or reject.", SMTP_ADD_USAGE),
        ("smtp add 10.1.1.0 /24 x", "`10.1.1.0` is not an SMTP list", SMTP_ADD_USAGE),
        ("smtp add accept", "`smtp add` needs an IPv4 address.", SMTP_ADD_USAGE),
        ("smtp remove", "`smtp remove` needs accept or reject.", SMTP_REMOVE_USAGE),
        (
            "smtp add accept mail.example.com x",
            "INTNETADR: 'mail.example.com' is not an IP address; expected an IPv4 address",
            SMTP_ADD_USAGE,
        ),
        ("smtp add accept 2001:db8::/32 x", "INTNETADR: '2001:db8::' is an IPv6 address", SMTP_ADD_USAGE),
        ("smtp add accept * x", "'*' (every address) is not accepted", SMTP_ADD_USAGE),
        (
            "smtp add accept 10.1.1.0 255.0.255.0 x",
            "SUBNETMASK: '255.0.255.0' is not a contiguous subnet mask",
            SMTP_ADD_USAGE,
        ),
        ("smtp add accept 10.1.1.0 /33 x", "SUBNETMASK: '/33' is not a prefix length", SMTP_ADD_USAGE),
        ("smtp add accept 10.1.1.0 1.5 hours", "SUBNETMASK: '1.5' is not a subnet mask", SMTP_ADD_USAGE),
        ("smtp add accept 10.1.1.0/24 /24 x", "Give the mask once", SMTP_ADD_USAGE),
        (
            "smtp add accept 10.1.1.0 ２５５.255.255.0 x",
            "SUBNETMASK: '２５５.255.255.0' contains characters other than printable plain ASCII",
            SMTP_ADD_USAGE,
        ),
        ("smtp remove accept 10.1.1.0 ／24", "SUBNETMASK: '／24' contains characters other", SMTP_REMOVE_USAGE),
        (
            "smtp add accept 10.1.1.0 0.0.0.0 everyone",
            "will not request an *ACCEPT entry with mask 0.0.0.0 (/0)",
            SMTP_ADD_USAGE,
        ),
        ("smtp add accept 0.0.0.0/0", "will not request an *ACCEPT entry", SMTP_ADD_USAGE),
        # relay
        ("relay", "`relay` needs `set` and one of none, list, near or both.", RELAY_USAGE),
        ("relay list", "`relay list`: expected `relay set`", RELAY_USAGE),
        ("relay set", "`relay set` needs one of none, list, near or both.", RELAY_USAGE),
        ("relay set open x", "`open` is not a relay setting. Accepted: none", RELAY_USAGE),
        ("relay set ALWRLY(*LIST)", "is not a relay setting", RELAY_USAGE),
        # trust / untrust
        ("trust", "`trust` needs an IP address or network.", TRUST_USAGE),
        ("trust 10.1.1.5/24 x", "`10.1.1.5/24` has host bits set; did you mean 10.1.1.0/24?", TRUST_USAGE),
        ("trust 2001:db8::1/32 x", "has host bits set; did you mean 2001:db8::/32?", TRUST_USAGE),
        ("trust 10.0.0.0/33 x", "`/33` is not a prefix length; expected /0 to /32 for IPv4 (or a", TRUST_USAGE),
        ("trust 2001:db8::/129 x", "expected /0 to /128 for IPv6", TRUST_USAGE),
        ("trust 10.0.0.0/ x", "`/` is not a prefix length", TRUST_USAGE),
        ("trust 10.0.0.0/255.0.255.0 x", "`/255.0.255.0` is not a prefix length", TRUST_USAGE),
        ("trust 10.0.0.0/-8 x", "is not a prefix length", TRUST_USAGE),
        ("trust ::ffff:10.1.1.5 x", "is an IPv4-mapped IPv6 address; give the IPv4 form, 10.1.1.5.", TRUST_USAGE),
        ("trust ::ffff:10.1.0.0/112 x", "give the IPv4 form, 10.1.0.0/16.", TRUST_USAGE),
        ("trust vpn.example.com x", "looks like a host name", TRUST_USAGE),
        ("untrust 10.1.1.5/24", "has host bits set; did you mean 10.1.1.0/24?", "/ibmi untrust IP|CIDR [REASON]"),
        ("untrust", "`untrust` needs an IP address or network.", "/ibmi untrust IP|CIDR [REASON]"),
        # silence / unsilence
        ("silence", "`silence` needs an IP address or an alert fingerprint.", SILENCE_USAGE),
        ("silence 203.0.113.7", "`silence` needs a duration from 1m to 30d", SILENCE_USAGE),
        ("silence 203.0.113.7 vendor test", "`vendor` is not a duration; expected a number with a unit", SILENCE_USAGE),
        ("silence 203.0.113.7 4 hours", "`4` is not a duration", SILENCE_USAGE),
        ("silence 203.0.113.7 59s x", "`59s` is too short; a silence lasts at least 1m.", SILENCE_USAGE),
        ("silence 203.0.113.7 30d1s x", "`30d1s` is too long; a silence lasts at most 30d.", SILENCE_USAGE),
        ("silence 203.0.113.7 99999999999999999999d x", "is too long", SILENCE_USAGE),
        ("silence 203.0.113.7 ４h x", "`４h` is not a duration", SILENCE_USAGE),
        ("silence 203.0.113.7 1h30 x", "`1h30` is not a duration", SILENCE_USAGE),
        (
            "silence 0123456789ABCDEF 1h x",
            "alert fingerprints are 16 lowercase hex characters, as shown under each alert: 0123456789abcdef.",
            SILENCE_USAGE,
        ),
        (
            "silence 0123456789abcde 1h x",
            "is not an IP address; expected an IP address such as 203.0.113.7, or an alert fingerprint",
            SILENCE_USAGE,
        ),
        ("silence 10.0.0.0/8 1h x", "is a network; give one address", SILENCE_USAGE),
        ("unsilence", "`unsilence` needs an IP address or an alert fingerprint.", "/ibmi unsilence IP|FINGERPRINT"),
        ("unsilence 203.0.113.7 now", "Too many arguments: `now`.", "/ibmi unsilence IP|FINGERPRINT"),
        ("unsilence 0123456789abcdef0", "is not an IP address", "/ibmi unsilence IP|FINGERPRINT"),
        # approvals / audit
        ("approvals 5", "`approvals` takes no arguments (got `5`).", "/ibmi approvals"),
        ("audit 0", "`0` is not a number of events; expected 1 to 100.", "/ibmi audit [N]"),
        ("audit 101", "`101` is not a number of events", "/ibmi audit [N]"),
        ("audit -5", "`-5` is not a number of events", "/ibmi audit [N]"),
        ("audit ２０", "`２０` is not a number of events", "/ibmi audit [N]"),
        ("audit 10 20", "Too many arguments: `20`.", "/ibmi audit [N]"),
        ("audit ten", "`ten` is not a number of events", "/ibmi audit [N]"),
    ],
)
def test_sub_command_errors(text: str, problem: str, usage: str) -> None:
    error = usage_error(text)
    assert problem in error.problem
    assert error.usage == usage


def test_open_relay_parses_and_is_left_to_the_danger_policy() -> None:
    """`relay set all` is a dangerous change (two approvals, in red), judged by bot.changes.danger, not the grammar."""
    for text in ("relay set all everyone may relay", "relay set *ALL x", "relay set All"):
        assert parse(text).request.to_cl() == "QSYS/CHGSMTPA ALWRLY(*ALL)"
    error = usage_error("relay set open x")
    for value in ("none", "list", "near", "both", "all"):
        assert value in error.problem
    assert error.usage == RELAY_USAGE


def test_end_refuses_loopback_and_takes_a_local_address() -> None:
    for text in ("end 127.0.0.1 23 x", "end ::1", "end 127.9.9.9"):
        assert "loopback" in usage_error(text).problem
    request = parse("end 203.0.113.7 23 --local 10.1.1.5 stale session").request
    assert request == EndRequest(A("203.0.113.7"), 23, "stale session", A("10.1.1.5"))
    with pytest.raises(ValueError):
        EndRequest(A("127.0.0.1"))


def test_error_usage_follows_the_slash_command() -> None:
    usage = usage_error("smtp add accept x", slash="/warden").usage
    assert usage == "/warden smtp add [accept|reject IP [MASK] REASON]"
    assert usage_error("trace x", slash="/warden").usage == "/warden trace IP"


def test_unbalanced_quotes_are_mentioned_when_the_command_is_wrong_anyway() -> None:
    error = usage_error("trace '203.0.113.7")
    assert "`'203.0.113.7` is not an IP address" in error.problem
    assert "Unbalanced quotes" in error.problem


def test_echoed_input_is_at_most_40_characters() -> None:
    error = usage_error("trace " + "9" * 1000)
    assert "`" + "9" * 39 + "…`" in error.problem
    error = usage_error("smtp add accept " + "9" * 1000)
    assert "9" * 41 not in error.problem and len(error.problem) < 300


# --- hostile values in every parameter -----------------------------------------------------------------------
# Each slot is a command with one parameter replaced by a hostile value given as one word (quoted where it has
# quotes or whitespace in it). Every one must end in a UsageError: no request is parsed from it.


def one_word(value: str) -> str:
    """The value as a single word of a command: in apostrophes when it needs quoting, apostrophes as '"'"'."""
    if value and not any(c in value for c in "'\"\\ \t\r\n\x0b\x0c"):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


# slot: (command with {} for the value, a valid value, the usage of its errors, whether the value may start
# with something other than the valid value: a port or mask must start like a number, else it starts the reason)
SLOTS: dict[str, tuple[str, str, str, bool]] = {
    "sub-command": ("{} 203.0.113.7", "trace", "/ibmi help", True),
    "trace IP": ("trace {}", "203.0.113.7", "/ibmi trace IP", True),
    "end IP": ("end {} 23 reason", "203.0.113.7", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]", True),
    "end IPv6": ("end {} 23 reason", "2001:db8::7", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]", True),
    "end PORT": ("end 203.0.113.7 {} reason", "23", "/ibmi end IP [PORT] [--local ADDRESS] [REASON]", False),
    "smtp action": ("smtp {} accept 10.1.1.0", "add", usage_of("smtp", "/ibmi"), True),
    "smtp list TYPE": ("smtp list {}", "accept", SMTP_LIST_USAGE, True),
    "smtp add TYPE": ("smtp add {} 10.1.1.0 /24 reason", "accept", SMTP_ADD_USAGE, True),
    "smtp add IP": ("smtp add accept {} /24 reason", "10.1.1.0", SMTP_ADD_USAGE, True),
    "smtp add IP/N": ("smtp add accept {} reason", "10.1.1.0/24", SMTP_ADD_USAGE, True),
    "smtp add MASK": ("smtp add accept 10.1.1.0 {} reason", "255.255.255.0", SMTP_ADD_USAGE, False),
    "smtp add /N": ("smtp add reject 10.1.1.0 {} reason", "/24", SMTP_ADD_USAGE, False),
    "smtp remove TYPE": ("smtp remove {} 10.1.1.0", "reject", SMTP_REMOVE_USAGE, True),
    "smtp remove IP": ("smtp remove reject {}", "10.1.1.0", SMTP_REMOVE_USAGE, True),
    "smtp remove MASK": ("smtp remove reject 10.1.1.0 {}", "255.255.255.0", SMTP_REMOVE_USAGE, False),
    "relay verb": ("relay {} list reason", "set", RELAY_USAGE, True),
    "relay value": ("relay set {} reason", "list", RELAY_USAGE, True),
    "trust CIDR": ("trust {} reason", "198.51.100.0/24", TRUST_USAGE, True),
    "trust IP": ("trust {} reason", "198.51.100.7", TRUST_USAGE, True),
    "untrust CIDR": ("untrust {} reason", "2001:db8::/32", "/ibmi untrust IP|CIDR [REASON]", True),
    "silence IP": ("silence {} 4h reason", "203.0.113.7", SILENCE_USAGE, True),
    "silence FINGERPRINT": ("silence {} 4h reason", FINGERPRINT, SILENCE_USAGE, True),
    "silence DURATION": ("silence 203.0.113.7 {} reason", "4h", SILENCE_USAGE, True),
    "unsilence": ("unsilence {}", "203.0.113.7", "/ibmi unsilence IP|FINGERPRINT", True),
    "audit N": ("audit {}", "20", "/ibmi audit [N]", True),
    "--system": ("trust 198.51.100.0/24 reason --system {}", "PROD", TRUST_USAGE, True),
    "netstat SYSTEM": ("netstat {}", "PROD", NETSTAT_USAGE, True),
    "netstat --port": ("netstat --port {}", "23", NETSTAT_USAGE, True),
}

SUFFIXES = [
    "'",
    '"',
    "''",
    "(",
    ")",
    "()",
    "+",
    "-",
    ";",
    ",",
    "*",
    "%",
    "&",
    "<",
    ">",
    "|",
    "\\",
    "`",
    "'$",
    "/",
    "//",
    "' )",
    "') CHGSMTPA ALWRLY(*ALL) ('",
    ")) CHGSMTPA ALWRLY(*ALL)",
    " +\nCHGSMTPA ALWRLY(*ALL)",
    "; DLTLIB QGPL",
    "\n",
    "\nCHGSMTPA ALWRLY(*ALL)",
    "\r",
    "\r\n",
    "\t",
    "\x00",
    "\x07",
    "\x1b[0m",
    "\u2028",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\u00a0",
    " x",
]
PREFIXES = ["'", '"', "(", "+", ";", "\n", "\x00", "\u202e", "\ufeff"]
FULLWIDTH = str.maketrans("0123456789./:", "０１２３４５６７８９．／：")
CYRILLIC = str.maketrans("aceopxyhABCEHKMOPTXsi", "асеорхуһАВСЕНКМОРТХѕі")


def hostile_values(valid: str, free_start: bool) -> list[str]:
    values = [valid + suffix for suffix in SUFFIXES]
    if free_start:
        values += [prefix + valid for prefix in PREFIXES]
        values += ["'", '"', "`", "()", "\n"]
    values += [v for v in (valid.translate(FULLWIDTH), valid.translate(CYRILLIC)) if v != valid]
    values.append(valid[0] + valid.translate(FULLWIDTH)[1:] if len(valid) > 1 else valid + "１")
    values.append(valid + "x" * 1900)  # long, but the command is within 2000 characters
    values.append(valid + "9" * 10_000)  # a 10,000-character value
    return list(dict.fromkeys(v for v in values if v != valid))


@pytest.mark.parametrize("slot", SLOTS)
def test_each_slot_parses_with_its_valid_value(slot: str) -> None:
    template, valid, _, _ = SLOTS[slot]
    assert_valid(parse(template.format(valid)))


@pytest.mark.parametrize("slot", SLOTS)
def test_hostile_values_in_every_parameter_are_usage_errors(slot: str) -> None:
    template, valid, usage, free_start = SLOTS[slot]
    values = hostile_values(valid, free_start)
    assert len(values) >= 40
    for value in values:
        text = template.format(one_word(value))
        try:
            parsed = parse(text)
        except UsageError as error:
            assert_safe_problem(error.problem)
            if len(text) > 2000:
                assert f"{len(text)} characters long" in error.problem
            else:
                assert error.usage == usage, (text, error.problem)
        else:
            pytest.fail(f"{slot}: {value!r} was accepted as {parsed!r}")


# --- what every successful parse gives -----------------------------------------------------------------------


def assert_valid(parsed: ParsedCommand) -> None:
    """Only validated values: each re-validates, CL commands survive cl.parse, the text of the values parses back."""
    assert isinstance(parsed, ParsedCommand)
    assert parsed.name in EXPECTED_REQUEST_TYPES
    assert type(parsed.request) in EXPECTED_REQUEST_TYPES[parsed.name]
    assert parsed.system is None or parsed.system in SYSTEMS
    assert parsed.port is None or (type(parsed.port) is int and 1 <= parsed.port <= 65535)
    assert parsed.arguments == ()
    found = parsed.request
    if found is None:
        assert parsed == parse(render(parsed))
        return
    assert dataclasses.replace(found) == found  # __post_init__ checks every value again
    for value in dataclasses.astuple(found):
        if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
            assert A(str(value)) == value and not getattr(value, "scope_id", None)
        if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            assert N(value.with_prefixlen) == value  # strict: no host bits
    reason = getattr(found, "reason", "")
    assert reason == " ".join(reason.split()) and reason.isprintable() and "`" not in reason and len(reason) <= 500
    if isinstance(found, ClRequest):
        assert cl.parse(found.to_cl()) == found.command
        assert found.to_cl() != "CHGSMTPA ALWRLY(*ALL)" or parsed.name == "relay"
    if isinstance(found, SilenceRequest):
        assert 60 <= found.seconds <= 30 * 86400
    if isinstance(found, SilenceRequest | UnsilenceRequest) and found.kind == "address":
        assert str(A(found.target)) == found.target
    if not (reason[:1] == "@" or reason.startswith("--system")):
        assert parse(render(parsed)) == parsed, render(parsed)


def render(parsed: ParsedCommand) -> str:
    """The command text of parsed values, in their canonical forms, the reason as one quoted word."""
    found = parsed.request
    words = [parsed.name]
    reason = ""
    if parsed.name == "netstat" and parsed.port is not None:
        words += ["--port", str(parsed.port)]
    if isinstance(found, TraceRequest):
        words.append(str(found.address))
    elif isinstance(found, EndRequest):
        words += [str(found.address)] + ([str(found.port)] if found.port else [])
        reason = found.reason
    elif isinstance(found, SmtpListRequest):
        words += ["list"] + ([found.list_type] if found.list_type else [])
    elif isinstance(found, SmtpAddFormRequest):
        words.append("add")
    elif isinstance(found, ClRequest):
        command = found.command
        if isinstance(command, ChangeSmtpRelay):
            words += ["set", command.allow_relay.lower()]
        else:
            action = "add" if isinstance(command, AddSmtpListEntry) else "remove"
            words += [action, command.list_type.lower(), str(command.address), str(command.mask)]
        reason = found.reason
    elif isinstance(found, TrustRequest | UntrustRequest):
        words.append(found.network.with_prefixlen)
        reason = found.reason
    elif isinstance(found, SilenceRequest):
        words += [found.target, f"{found.seconds!r}s"]
        reason = found.reason
    elif isinstance(found, UnsilenceRequest):
        words.append(found.target)
    elif isinstance(found, AuditRequest):
        words.append(str(found.count))
    if reason:
        words.append("'" + reason.replace("'", "'\"'\"'") + "'")
    if parsed.system:
        words.append("@" + parsed.system)
    return " ".join(words)


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


def check_outcome(text: str) -> None:
    """A UsageError with a safe problem, or a command whose values are all valid."""
    try:
        parsed = parse(text)
    except UsageError as error:
        problem = error.problem
        assert problem and error.usage and error.usage.startswith("/ibmi ")
        assert_safe_problem(problem)
        # Backticks in the problem come from its own quoting, never from the input: either the problem is the
        # input's backticks themselves, or the same text with every backtick replaced by another character that
        # is neither a word character nor a quote (so the words split the same) gives as many backticks.
        if "backticks" in problem:
            return
        try:
            parse(text.replace("`", "?"))
        except UsageError as plain:
            assert problem.count("`") == plain.problem.count("`")
            return
        raise AssertionError(f"{text!r} was refused ({problem}) but parses without its backticks") from None
    assert_valid(parsed)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_any_text_parses_or_raises_usage_error(text: str) -> None:
    check_outcome(text)


# A grammar-aware strategy: sub-command words in the right order most of the time, with real and broken
# addresses, masks, ports, durations and reasons, system selectors anywhere, hostile fragments mixed in.

_ADDRESS = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}"),
    st.sampled_from(
        [
            "203.0.113.7",
            "0.0.0.0",
            "::",
            "10.1.1.0",
            "2001:DB8::7",
            "fe80::1%eth0",
            "[::1]",
            "example.com",
            "１０.1.1.1",
            "10.1.1.1'",
            "010.1.1.1",
            "1.2.3",
            "*",
            "10.1.1.0/24",
        ]
    ),
)
_NETWORK = st.one_of(
    _ADDRESS,
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses().map(str), st.integers(0, 130)),
    st.builds(
        lambda n: str(n.network_address) + f"/{n.prefixlen}",
        st.ip_addresses().flatmap(
            lambda a: st.integers(0, a.max_prefixlen).map(lambda p: ipaddress.ip_network((a, p), strict=False))
        ),
    ),
    st.sampled_from(["::ffff:10.0.0.0/104", "10.0.0.0/255.0.0.0", "10.0.0.0/", "/8"]),
)
_MASK = st.one_of(
    st.integers(-1, 33).map(lambda n: f"/{n}"),
    st.integers(0, 32).map(lambda n: str(ipaddress.IPv4Network((0, n)).netmask)),
    st.ip_addresses(v=4).map(str),
    st.sampled_from(["0.0.0.0", "255.0.255.0", "/", "/２４", "２５５.255.255.0", "1.5"]),
)
_PORT = st.one_of(st.integers(-2, 70000).map(str), st.sampled_from(["２３", "23x", "telnet", "0023"]))
_DURATION = st.one_of(
    st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**7), st.sampled_from(["s", "m", "h", "d", "H", "x", ""])),
    st.sampled_from(["1h30m", "0.5h", "1.5", "４h", "30d", "30d1s", "59s", "1m", "1d1d", "."]),
)
_FINGERPRINTS = st.text(alphabet="0123456789abcdefABCDEF", min_size=15, max_size=17)
_HOSTILE = st.sampled_from(
    [
        "'",
        '"',
        "`",
        "\\",
        "(",
        ")",
        "+",
        ";",
        "\n",
        "\r",
        "\t",
        "\x00",
        "\u202e",
        "\u200b",
        "\u00a0",
        "*ALL",
        "ALWRLY(*ALL)",
        "') CHGSMTPA ALWRLY(*ALL) ('",
        "２３",
        "аccept",
        "ѕet",
        "x" * 600,
        "@",
        "@bob",
        "@prod",
        "@TEST",
        "--system",
        "--system=Dev2",
        "--system=",
        "--port",
        '"vendor VPN"',
        "vendor's",
        "it'",
        "''",
        '""',
    ]
)
_REASON_WORD = st.one_of(
    st.sampled_from(["vendor", "VPN", "vendor's", "test", "ask", "@bob", "branch", "office", "ticket#42", "(x)"]),
    st.text(min_size=1, max_size=10),
    _HOSTILE,
)
_REASON = st.lists(_REASON_WORD, max_size=5)
_LIST_TYPE = st.sampled_from(["accept", "reject", "*ACCEPT", "Reject", "both", "аccept", "accept'"])


def _words(*parts: Any) -> Any:
    """A strategy for a list of words: each part a strategy for one word (str) or for several (list)."""
    return st.tuples(*parts).map(lambda ps: [w for p in ps for w in (p if isinstance(p, list) else [p])])


def _maybe(strategy: Any) -> Any:
    return st.one_of(st.just([]), strategy.map(lambda w: [w]))


_COMMAND_WORDS = st.one_of(
    _words(st.just("trace"), _ADDRESS),
    _words(st.just("end"), _ADDRESS, _maybe(_PORT), _REASON),
    _words(st.just("smtp"), st.just("list"), _maybe(_LIST_TYPE)),
    _words(
        st.just("smtp"), st.sampled_from(["add", "remove", "ADD", "rm"]), _LIST_TYPE, _ADDRESS, _maybe(_MASK), _REASON
    ),
    _words(st.just("smtp"), st.just("add")),
    _words(
        st.just("relay"),
        st.sampled_from(["set", "SET", "show"]),
        st.sampled_from(["none", "list", "near", "both", "all", "*ALL", "*LIST", "open", "lіst"]),
        _REASON,
    ),
    _words(st.sampled_from(["trust", "untrust"]), _NETWORK, _REASON),
    _words(st.just("silence"), st.one_of(_ADDRESS, _FINGERPRINTS), _DURATION, _REASON),
    _words(st.just("unsilence"), st.one_of(_ADDRESS, _FINGERPRINTS)),
    _words(st.just("audit"), _maybe(st.one_of(st.integers(-1, 102).map(str), st.sampled_from(["２０", "ten"])))),
    _words(st.sampled_from(["approvals", "help", "status"])),
    _words(
        st.just("netstat"), _maybe(st.sampled_from(["PROD", "dev2", "TEST"])), _maybe(_PORT.map(lambda p: f"-p {p}"))
    ),
)


@st.composite
def command_texts(draw: st.DrawFn) -> str:
    words = list(draw(_COMMAND_WORDS))
    for _ in range(draw(st.integers(0, 2))):  # selectors and hostile fragments anywhere after the name
        extra = draw(st.one_of(_HOSTILE, st.sampled_from(["@prod", "@DEV2", "--system PROD", "--system=dev2"])))
        words.insert(draw(st.integers(1, len(words))), extra)
    if draw(st.booleans()):  # quote some words, as people do
        index = draw(st.integers(0, len(words) - 1))
        words[index] = draw(st.sampled_from(['"{}"', "'{}'", '"{}', "{}'"])).format(words[index])
    separator = draw(st.sampled_from([" ", " ", " ", "  ", "\t", "\n", " \n "]))
    return separator.join(words)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_texts())
def test_fuzzed_commands_parse_to_valid_values_or_raise_usage_error(text: str) -> None:
    check_outcome(text)


# Valid commands, generated with the values they must give.

_REASON_TEXT = st.lists(
    st.builds(
        lambda first, apostrophe, rest: first + apostrophe + rest,
        st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöüéñøжя東"),
        st.sampled_from(["", "", "'s"]),
        st.text(alphabet="abcxyzXYZ0123456789.,:;()+!?#%&<>=/-_é", max_size=8),
    ),
    max_size=5,
).map(" ".join)


@st.composite
def valid_commands(draw: st.DrawFn) -> tuple[str, ParsedCommand]:
    name = draw(st.sampled_from([s.name for s in SUB_COMMANDS]))
    reason = draw(_REASON_TEXT)
    words: list[str]
    found: Any = None
    port = None
    if name == "trace":
        address = draw(st.ip_addresses())
        words, found = [str(address)], TraceRequest(getattr(address, "ipv4_mapped", None) or address)
    elif name == "end":
        address = draw(
            st.ip_addresses().filter(
                lambda a: (
                    not a.is_unspecified
                    and not a.is_loopback
                    and not (
                        a.version == 6
                        and a.ipv4_mapped is not None
                        and (a.ipv4_mapped.is_unspecified or a.ipv4_mapped.is_loopback)
                    )
                )
            )
        )
        end_port = draw(st.none() | st.integers(1, 65535))
        words = [address.exploded if draw(st.booleans()) else str(address)] + ([str(end_port)] if end_port else [])
        found = EndRequest(getattr(address, "ipv4_mapped", None) or address, end_port, reason)
    elif name == "smtp":
        action = draw(st.sampled_from(["list", "add", "remove", "form"]))
        if action == "list":
            list_type = draw(st.sampled_from([None, "*ACCEPT", "*REJECT"]))
            words = ["list"] + (
                [draw(st.sampled_from([list_type, list_type.lstrip("*").lower()]))] if list_type else []
            )
            found = SmtpListRequest(list_type)
        elif action == "form":
            words, found = ["add"], SmtpAddFormRequest()
        else:
            list_type = draw(st.sampled_from(["*ACCEPT", "*REJECT"]))
            address = draw(st.ip_addresses(v=4))
            prefix = draw(st.integers(1 if list_type == "*ACCEPT" and action == "add" else 0, 32))
            mask_form = draw(st.sampled_from(["dotted", "slash", "joined", "none"]))
            if mask_form == "none":
                prefix = 32
            mask = str(ipaddress.IPv4Network((0, prefix)).netmask)
            address_words = {
                "dotted": [str(address), mask],
                "slash": [str(address), f"/{prefix}"],
                "joined": [f"{address}/{prefix}"],
                "none": [str(address)],
            }[mask_form]
            words = [action, draw(st.sampled_from([list_type, list_type.lstrip("*").lower()]))] + address_words
            command = AddSmtpListEntry if action == "add" else RemoveSmtpListEntry
            found = ClRequest(command.build(list_type, address, mask), reason)
    elif name == "relay":
        value = draw(st.sampled_from(["none", "list", "near", "both", "all"]))
        words = ["set", draw(st.sampled_from([value, value.upper(), "*" + value]))]
        found = ClRequest(ChangeSmtpRelay.build(value), reason)
    elif name in ("trust", "untrust"):
        address = draw(st.ip_addresses().filter(lambda a: a.version == 4 or a.ipv4_mapped is None))
        prefix = draw(st.integers(0, address.max_prefixlen))
        network = ipaddress.ip_network((address, prefix), strict=False)
        written = (
            str(network.network_address)
            if prefix == address.max_prefixlen and draw(st.booleans())
            else network.with_prefixlen
        )
        words = [written]
        found = (TrustRequest if name == "trust" else UntrustRequest)(network, reason)
    elif name in ("silence", "unsilence"):
        if draw(st.booleans()):
            kind, target = "fingerprint", draw(st.text(alphabet="0123456789abcdef", min_size=16, max_size=16))
            written = target
        else:
            address = draw(st.ip_addresses())
            kind, target, written = "address", str(getattr(address, "ipv4_mapped", None) or address), str(address)
        words = [written]
        if name == "silence":
            days, hours, minutes, seconds = (
                draw(st.integers(0, 29)),
                draw(st.integers(0, 23)),
                draw(st.integers(0, 59)),
                draw(st.integers(0, 59)),
            )
            total = days * 86400 + hours * 3600 + minutes * 60 + seconds
            if total < 60:
                minutes, total = 1, total + 60
            parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
            words.append("".join(parts))
            found = SilenceRequest(kind, target, float(total), reason)
        else:
            found = UnsilenceRequest(kind, target)
    elif name == "audit":
        count = draw(st.none() | st.integers(1, 100))
        words, found = ([str(count)] if count else []), AuditRequest(count or 10)
    elif name == "netstat":
        port = draw(st.none() | st.integers(1, 65535))
        words = [f"--port={port}"] if port else []
    else:
        words = []
    takes_reason = isinstance(found, EndRequest | ClRequest | TrustRequest | UntrustRequest | SilenceRequest)
    if takes_reason and reason:
        words.append(draw(st.sampled_from([reason, f'"{reason}"' if '"' not in reason else reason])))
    system = draw(st.sampled_from([None, "PROD", "Dev2"]))
    if system:
        selector = draw(st.sampled_from(["@{}", "--system {}", "--system={}"])).format(
            draw(st.sampled_from([system, system.lower(), system.upper()]))
        )
        words.insert(draw(st.integers(0, len(words))), selector)
    text = draw(st.sampled_from([name, name.upper(), name.title()])) + " " + " ".join(words)
    return text, ParsedCommand(name, system, port, request=found)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_commands())
def test_valid_commands_give_their_values(case: tuple[str, ParsedCommand]) -> None:
    text, expected = case
    assert parse(text) == expected
    assert_valid(expected)


@pytest.mark.parametrize(
    "text", ["relay set list\nCHGSMTPA ALWRLY(*ALL)", "trust 10.1.1.0/24 a\tb", "silence 203.0.113.7 4h a\rb"]
)
def test_line_breaks_and_control_characters_are_refused_anywhere(text):
    with pytest.raises(UsageError, match="one line"):
        parse_command_text(text, ["DEMO"])
