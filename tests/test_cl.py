"""CL command builders and parser: exact commands, every validation error, hostile text, round trips."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ibmi.cl import (
    LIBRARY,
    RELAY_POLICIES,
    SMTP_LIST_TYPES,
    AddSmtpListEntry,
    ChangeSmtpRelay,
    ClCommand,
    CLParseError,
    CLValidationError,
    EndTcpConnection,
    EndTcpServer,
    RemoveSmtpListEntry,
    StartTcpServer,
    parse,
    quote_cl_string,
)

PROPERTY = settings(max_examples=200, deadline=None)
END_EXAMPLE = "QSYS/ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('10.1.1.5') LCLPORT(23) RMTINTNETA('10.9.9.9') RMTPORT(51123)"
ADD_EXAMPLE = "QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')"


def end_connection() -> EndTcpConnection:
    return EndTcpConnection.build("10.1.1.5", 23, "10.9.9.9", 51123)


# Building commands


def test_end_tcp_connection_builds_the_documented_command() -> None:
    assert end_connection().to_cl() == END_EXAMPLE


def test_end_tcp_connection_accepts_text_ints_and_address_objects() -> None:
    from_objects = EndTcpConnection.build(
        ipaddress.IPv4Address("10.1.1.5"), 23, ipaddress.IPv4Address("10.9.9.9"), 51123
    )
    from_text = EndTcpConnection.build(" 10.1.1.5 ", " 23", "10.9.9.9  ", "51123")
    assert from_objects == from_text == end_connection()
    assert from_text.local_port == 23 and type(from_text.local_port) is int


def test_end_tcp_connection_renders_ipv6_compressed() -> None:
    command = EndTcpConnection.build("2001:DB8:0:0:0:0:0:5", "992", "2001:db8::9", 40000)
    assert command.to_cl() == (
        "QSYS/ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('2001:db8::5') LCLPORT(992) RMTINTNETA('2001:db8::9') RMTPORT(40000)"
    )


def test_end_tcp_connection_keeps_ipv4_mapped_addresses() -> None:
    command = EndTcpConnection.build("::ffff:10.1.1.5", 23, "::ffff:10.9.9.9", 4000)
    mapped = ipaddress.IPv6Address("::ffff:10.1.1.5")
    assert command.local_address == mapped
    assert "LCLINTNETA('::ffff:10.1.1.5')" in command.to_cl()  # the same on Python 3.11 and 3.13


def test_add_smtp_list_entry_builds_the_documented_command() -> None:
    assert AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", "255.255.255.0").to_cl() == ADD_EXAMPLE


@pytest.mark.parametrize("list_type", ["accept", "*accept", "ACCEPT", " *Accept "])
def test_list_type_is_accepted_in_any_case_with_or_without_asterisk(list_type: str) -> None:
    assert AddSmtpListEntry.build(list_type, "10.1.1.0", "255.255.255.0").list_type == "*ACCEPT"


@pytest.mark.parametrize("mask", ["255.255.255.0", "/24", 24, ipaddress.IPv4Address("255.255.255.0")])
def test_mask_is_accepted_dotted_or_as_prefix_length(mask: object) -> None:
    entry = AddSmtpListEntry.build("*REJECT", "10.1.1.0", mask)  # type: ignore[arg-type]
    assert entry.mask == ipaddress.IPv4Address("255.255.255.0")


def test_mask_defaults_to_a_single_host() -> None:
    entry = AddSmtpListEntry.build("*ACCEPT", "192.0.2.7")
    assert entry.to_cl() == "QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('192.0.2.7') SUBNETMASK('255.255.255.255')"


@pytest.mark.parametrize("mask", ["0.0.0.0", "/0", 0])
def test_mask_of_zero_is_syntactically_valid(mask: object) -> None:
    entry = AddSmtpListEntry.build("*ACCEPT", "0.0.0.0", mask)  # type: ignore[arg-type]
    assert entry.to_cl() == "QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('0.0.0.0') SUBNETMASK('0.0.0.0')"


def test_remove_smtp_list_entry_mirrors_add() -> None:
    entry = RemoveSmtpListEntry.build("reject", "203.0.113.0", "/25")
    assert entry.to_cl() == "QSYS/RMVSMTPLE TYPE(*REJECT) INTNETADR('203.0.113.0') SUBNETMASK('255.255.255.128')"
    assert entry != AddSmtpListEntry.build("reject", "203.0.113.0", "/25")


@pytest.mark.parametrize("policy", RELAY_POLICIES)
def test_change_smtp_relay_builds_each_policy(policy: str) -> None:
    assert ChangeSmtpRelay.build(policy).to_cl() == f"QSYS/CHGSMTPA ALWRLY({policy})"
    assert ChangeSmtpRelay.build(policy.lstrip("*").lower()).allow_relay == policy


def test_commands_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        end_connection().local_port = 24  # type: ignore[misc]


def test_quote_cl_string_doubles_apostrophes() -> None:
    assert quote_cl_string("O'Brien") == "'O''Brien'"
    assert quote_cl_string("") == "''"


@pytest.mark.parametrize(
    "make",
    [
        lambda: EndTcpConnection("10.1.1.5", 23, ipaddress.IPv4Address("10.9.9.9"), 5),  # type: ignore[arg-type]
        lambda: EndTcpConnection(ipaddress.IPv4Address("10.1.1.5"), True, ipaddress.IPv4Address("10.9.9.9"), 5),
        lambda: AddSmtpListEntry("accept", ipaddress.IPv4Address("10.1.1.0"), ipaddress.IPv4Address("0.0.0.0")),
        lambda: AddSmtpListEntry(
            "*ACCEPT') CHGSMTPA ALWRLY(*ALL",
            ipaddress.IPv4Address("10.1.1.0"),
            ipaddress.IPv4Address("0.0.0.0"),
        ),
        lambda: ChangeSmtpRelay("*all"),
    ],
)
def test_constructor_refuses_values_that_did_not_come_from_build(make: Callable[[], object]) -> None:
    with pytest.raises(CLValidationError):
        make()


# Validation errors: parameter named, problem stated, accepted values given


def build_end(**overrides: object) -> EndTcpConnection:
    values: dict[str, object] = {
        "local_address": "10.1.1.5",
        "local_port": 23,
        "remote_address": "10.9.9.9",
        "remote_port": 51123,
    }
    return EndTcpConnection.build(**{**values, **overrides})  # type: ignore[arg-type]


VALIDATION_CASES: list[tuple[Callable[[], object], str, str, str]] = [
    (lambda: build_end(local_port="abc"), "LCLPORT", "'abc' is not a port number", "from 1 to 65535"),
    (lambda: build_end(local_port=0), "LCLPORT", "0 is out of range", "from 1 to 65535"),
    (lambda: build_end(remote_port="65536"), "RMTPORT", "is out of range", "from 1 to 65535"),
    (lambda: build_end(remote_port=-1), "RMTPORT", "-1 is out of range", "from 1 to 65535"),
    (lambda: build_end(local_port=True), "LCLPORT", "True is not a port number", "whole number"),
    (lambda: build_end(local_port=23.0), "LCLPORT", "type 'float'", "whole number"),
    (lambda: build_end(local_port="+23"), "LCLPORT", "is not a port number", "whole number"),
    (lambda: build_end(local_port="123456"), "LCLPORT", "is not a port number", "whole number"),
    (lambda: build_end(local_port="２３"), "LCLPORT", "other than printable plain ASCII", "whole number"),
    (lambda: build_end(local_port="٢٣"), "LCLPORT", "other than printable plain ASCII", "whole number"),
    (lambda: build_end(remote_port="*"), "RMTPORT", "is not a port number", "whole number"),
    (lambda: build_end(local_port=""), "LCLPORT", "empty", "whole number"),
    (lambda: build_end(local_address="10.1.1"), "LCLINTNETA", "is not an IP address", "IPv4 address"),
    (lambda: build_end(local_address="010.1.1.5"), "LCLINTNETA", "is not an IP address", "IPv6 address"),
    (lambda: build_end(local_address="10．1.1.5"), "LCLINTNETA", "plain ASCII", "IPv4 address"),
    (lambda: build_end(local_address="fe80::1%eth0"), "LCLINTNETA", "is not an IP address", "zone id"),
    (lambda: build_end(local_address="[2001:db8::1]"), "LCLINTNETA", "is not an IP address", "brackets"),
    (lambda: build_end(local_address="*"), "LCLINTNETA", "'*' (every address)", "IPv4 address"),
    (lambda: build_end(local_address="example.com"), "LCLINTNETA", "is not an IP address", "IPv4"),
    (lambda: build_end(local_address=167837957), "LCLINTNETA", "is not an IP address", "IPv4"),
    (lambda: build_end(local_address="1" * 65), "LCLINTNETA", "too long (65 characters)", "IPv4"),
    (lambda: build_end(remote_address="0.0.0.0"), "RMTINTNETA", "unspecified", "remote address"),
    (
        lambda: build_end(local_address="::", remote_address="::"),
        "RMTINTNETA",
        "unspecified",
        "remote address",
    ),
    (lambda: build_end(remote_address="2001:db8::9"), "RMTINTNETA", "is IPv6 but LCLINTNETA is IPv4", "IPv4"),
    (
        lambda: build_end(local_address="::ffff:10.1.1.5"),
        "RMTINTNETA",
        "is IPv4 but LCLINTNETA is IPv6",
        "IPv6 address",
    ),
    (
        lambda: AddSmtpListEntry.build("*ACCEPTIP6", "10.1.1.0"),
        "TYPE",
        "not a supported list type",
        "*REJECT",
    ),
    (lambda: AddSmtpListEntry.build("*NEAR", "10.1.1.0"), "TYPE", "not a supported list type", "*ACCEPT"),
    (lambda: AddSmtpListEntry.build("**ACCEPT", "10.1.1.0"), "TYPE", "not a supported list type", "*ACCEPT"),
    (lambda: AddSmtpListEntry.build(None, "10.1.1.0"), "TYPE", "None is not", "*ACCEPT"),  # type: ignore[arg-type]
    (lambda: AddSmtpListEntry.build("*ACCEPT", "2001:db8::"), "INTNETADR", "is an IPv6 address", "IPv4"),
    (lambda: AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", "255.0.255.0"), "SUBNETMASK", "contiguous", "/24"),
    (lambda: AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", "0.0.0.255"), "SUBNETMASK", "contiguous", "/24"),
    (lambda: AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", "/33"), "SUBNETMASK", "prefix length", "0 to 32"),
    (lambda: AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", 33), "SUBNETMASK", "prefix length", "0 to 32"),
    (lambda: AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", "24"), "SUBNETMASK", "not a subnet mask", "/24"),
    (lambda: AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", True), "SUBNETMASK", "True", "/24"),  # type: ignore[arg-type]
    (lambda: RemoveSmtpListEntry.build("*DOMAIN", "10.1.1.0"), "TYPE", "list type", "*REJECT"),
    (lambda: ChangeSmtpRelay.build("*SOME"), "ALWRLY", "'*SOME' is not a relay policy", "*NONE, *ALL"),
    (lambda: ChangeSmtpRelay.build("ＡＬＬ"), "ALWRLY", "plain ASCII", "*LIST, *NEAR, *BOTH"),
]


@pytest.mark.parametrize(("make", "parameter", "problem", "accepted"), VALIDATION_CASES)
def test_validation_error_names_parameter_problem_and_accepted_values(
    make: Callable[[], object], parameter: str, problem: str, accepted: str
) -> None:
    with pytest.raises(CLValidationError) as caught:
        make()
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.parameter == parameter
    assert problem in error.problem
    assert accepted in error.accepted
    assert str(error) == f"{parameter}: {error.problem}; expected {error.accepted}"


def test_validation_message_matches_the_documented_form() -> None:
    with pytest.raises(CLValidationError) as caught:
        build_end(local_port="abc")
    assert str(caught.value) == "LCLPORT: 'abc' is not a port number; expected a whole number from 1 to 65535"


def test_validation_message_truncates_and_escapes_the_bad_input() -> None:
    with pytest.raises(CLValidationError) as caught:
        build_end(local_address="\n" + "A" * 100)
    message = str(caught.value)
    assert "'\\n" + "A" * 39 + "'…" in message
    assert "A" * 41 not in message
    assert message.isprintable()


def test_validation_message_escapes_slack_markup() -> None:
    with pytest.raises(CLValidationError) as caught:
        build_end(local_address="<!channel> & <https://example.com|x>")
    message = str(caught.value)
    assert "<" not in message and ">" not in message and "&" not in message
    assert "'\\x3c!channel\\x3e \\x26 " in message


# Parsing


@pytest.mark.parametrize(
    "text",
    [
        END_EXAMPLE,
        END_EXAMPLE.lower(),
        "  " + END_EXAMPLE.replace(" ", "   ") + "  ",
        "ENDTCPCNN *TCP '10.1.1.5' 23 '10.9.9.9' 51123",
        "endtcpcnn *tcp 10.1.1.5 23 RMTPORT(51123) RMTINTNETA(10.9.9.9)",
        "ENDTCPCNN RMTPORT( 51123 ) LCLPORT(23) RMTINTNETA('10.9.9.9') PROTOCOL(*TCP) LCLINTNETA('10.1.1.5')",
    ],
)
def test_parse_end_tcp_connection_forms(text: str) -> None:
    assert parse(text) == end_connection()


def test_parse_smtp_list_entries() -> None:
    assert parse(ADD_EXAMPLE) == AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", "/24")
    assert parse("ADDSMTPLE *REJECT INTNETADR('192.0.2.7')") == AddSmtpListEntry.build("*REJECT", "192.0.2.7")
    removed = parse("rmvsmtple type(*accept) intnetadr('10.1.1.0') subnetmask('255.255.0.0')")
    assert removed == RemoveSmtpListEntry.build("*ACCEPT", "10.1.1.0", 16)


@pytest.mark.parametrize(
    "text",
    [
        "QSYS/CHGSMTPA ALWRLY(*LIST)",
        "qsys/chgsmtpa alwrly(*list)",
        "*LIBL/CHGSMTPA ALWRLY(*LIST)",
        "CHGSMTPA ALWRLY(*LIST)",
    ],
)
def test_parse_accepts_the_name_alone_or_qualified_with_qsys(text: str) -> None:
    assert parse(text) == ChangeSmtpRelay.build("*LIST")


@pytest.mark.parametrize(
    "command",
    [
        EndTcpConnection.build("10.1.1.5", 23, "10.9.9.9", 51123),
        AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", 24),
        RemoveSmtpListEntry.build("*REJECT", "192.0.2.7"),
        ChangeSmtpRelay.build("*NONE"),
    ],
)
def test_every_command_is_built_qualified_with_qsys(command: ClCommand) -> None:
    assert command.to_cl().startswith(f"{LIBRARY}/")
    assert LIBRARY == "QSYS"
    assert parse(command.to_cl()) == command
    assert parse(command.to_cl().removeprefix("QSYS/")) == command


def test_parse_change_smtp_relay() -> None:
    assert parse("CHGSMTPA ALWRLY(*LIST)") == ChangeSmtpRelay.build("*LIST")
    assert parse("chgsmtpa alwrly(*none)") == ChangeSmtpRelay.build("*NONE")


def test_parse_unescapes_doubled_apostrophes_before_validation() -> None:
    with pytest.raises(CLValidationError) as caught:
        parse("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0''') SUBNETMASK('255.255.255.0')")
    assert caught.value.parameter == "INTNETADR"
    assert '"10.1.1.0\'"' in caught.value.problem


def test_parse_rejects_udp_with_a_clear_message() -> None:
    with pytest.raises(CLValidationError) as caught:
        parse("ENDTCPCNN PROTOCOL(*UDP) LCLINTNETA('10.1.1.5') LCLPORT(53)")
    assert caught.value.parameter == "PROTOCOL"
    assert "*UDP" in caught.value.problem and "not supported" in caught.value.problem
    assert caught.value.accepted == "*TCP"


@pytest.mark.parametrize(
    ("text", "parameter"),
    [
        (
            "ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('*') LCLPORT(23) RMTINTNETA('10.9.9.9') RMTPORT(1)",
            "LCLINTNETA",
        ),
        (
            "ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('10.1.1.5') LCLPORT(23) RMTINTNETA(*) RMTPORT(1)",
            "RMTINTNETA",
        ),
        (
            "ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('10.1.1.5') LCLPORT(23) RMTINTNETA('10.9.9.9') RMTPORT(*)",
            "RMTPORT",
        ),
        (
            "ENDTCPCNN PROTOCOL(*ICMP) LCLINTNETA('10.1.1.5') LCLPORT(23) RMTINTNETA('10.9.9.9') RMTPORT(1)",
            "PROTOCOL",
        ),
        ("ADDSMTPLE TYPE(*ACCEPTIP6) INTNETADR('2001:db8::')", "TYPE"),
        ("CHGSMTPA ALWRLY(*YES)", "ALWRLY"),
    ],
)
def test_parse_validates_values_like_build(text: str, parameter: str) -> None:
    with pytest.raises(CLValidationError) as caught:
        parse(text)
    assert caught.value.parameter == parameter


PARSE_ERRORS = [
    ("", "empty"),
    ("   ", "empty"),
    ("DLTLIB LIB(QGPL)", "Command DLTLIB in library *LIBL not found."),
    ("MYLIB/ENDTCPCNN *TCP '10.1.1.5' 23 '10.9.9.9' 1", "Command ENDTCPCNN in library MYLIB not found."),
    ("QGPL/CHGSMTPA ALWRLY(*LIST)", "Command CHGSMTPA in library QGPL not found."),
    ("/CHGSMTPA ALWRLY(*LIST)", "is not a library name"),
    ("QSYS/ ALWRLY(*LIST)", "is not a command name"),
    ("QSYS/CHGSMTPA/X ALWRLY(*LIST)", "is not a library name"),
    ("CHGSMTPA1234 ALWRLY(*LIST)", "not a command name"),
    ("CHGSMTPA ALWRLY(*LIST) +", "continuation"),
    ("CHGSMTPA ALWRLY(*LIST) -", "continuation"),
    ("CHGSMTPA +", "continuation"),
    ("CHGSMTPA ALWRLY(*LIST)\n", "control character"),
    ("CHGSMTPA\tALWRLY(*LIST)", "control character"),
    ("CHGSMTPA ALWRLY(*LIST)\x00", "control character"),
    ("CHGSMTPA ALWRLY(*LIST)\u2028", "control character"),
    ("CHGSMTPA ALWRLY('*LIST)", "never closed"),
    ("CHGSMTPA ALWRLY(*LIST", "never closed"),
    ("CHGSMTPA ALWRLY(*LIST))", "no opening parenthesis"),
    ("CHGSMTPA ALWRLY((*LIST))", "cannot nest"),
    ("CHGSMTPA ALWRLY()", "has no value"),
    ("CHGSMTPA ALWRLY(*LIST *ALL)", "takes one value"),
    ("CHGSMTPA ALWRLY(*LIST) ALWRLY(*ALL)", "more than once"),
    ("CHGSMTPA ALWRLY(*LIST) POPWDW(30)", "keyword POPWDW is not accepted for CHGSMTPA"),
    ("CHGSMTPA *LIST", "at most 0 values by position"),
    ("CHGSMTPA", "CHGSMTPA needs ALWRLY"),
    ("CHGSMTPA ALWRLY(*LIST);DLTLIB QGPL", "unexpected text"),
    ("CHGSMTPA ALWRLY(*LIST)ALWRLY(*ALL)", "unexpected text"),
    ("CHGSMTPA ALWRLY(*LIST) 'x'", "follows a keyword parameter"),
    (
        "ADDSMTPLE TYPE(*ACCEPT) HOSTNAME('mail.example.com') INTNETADR('10.1.1.0')",
        "HOSTNAME is not accepted for ADDSMTPLE",
    ),
    ("ADDSMTPLE *ACCEPT '10.1.1.0'", "at most 1 values by position"),
    ("ADDSMTPLE TYPE(*ACCEPT)", "ADDSMTPLE needs INTNETADR"),
    ("ENDTCPCNN *TCP '10.1.1.5' 23 '10.9.9.9'", "ENDTCPCNN needs RMTPORT"),
    ("ENDTCPCNN *TCP '10.1.1.5' 23 '10.9.9.9' 1 2", "at most 5 values by position"),
    (
        "ENDTCPCNN *TCP PROTOCOL(*TCP) LCLINTNETA('10.1.1.5') LCLPORT(23) RMTINTNETA('1.2.3.4') RMTPORT(1)",
        "more",
    ),
    ("ENDTCPCNN PROTOCOL (*TCP)", "misplaced"),
    ("CHGSMTPA ALWRLY(*LIST) ｘ", "unexpected text"),
    ("ＣＨＧＳＭＴＰＡ ALWRLY(*LIST)", "not a command name"),
    ("CHGSMTPA ALWRLY(" + "*" * 40000 + ")", "at most 32000"),
]


@pytest.mark.parametrize(("text", "detail"), PARSE_ERRORS)
def test_parse_errors_are_reported_as_cpf0006(text: str, detail: str) -> None:
    with pytest.raises(CLParseError) as caught:
        parse(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.message_id == "CPF0006"
    assert detail in error.detail
    assert error.text == f"Errors occurred in command. {error.detail}"
    assert "\n" not in str(error) and str(error).isprintable()


def test_unknown_command_has_cpd0030_detail() -> None:
    with pytest.raises(CLParseError) as caught:
        parse("wrkactjob sbs(qsyswrk)")
    assert caught.value.detail_id == "CPD0030"
    assert caught.value.detail == "Command WRKACTJOB in library *LIBL not found."


def test_syntax_errors_have_no_detail_id() -> None:
    with pytest.raises(CLParseError) as caught:
        parse("CHGSMTPA ALWRLY(*LIST")
    assert caught.value.detail_id is None


def test_parse_rejects_text_that_is_not_a_string() -> None:
    with pytest.raises(CLParseError):
        parse(b"CHGSMTPA ALWRLY(*LIST)")  # type: ignore[arg-type]


def test_parse_accepts_exactly_32000_characters() -> None:
    text = END_EXAMPLE + " " * (32000 - len(END_EXAMPLE))
    assert parse(text) == end_connection()
    with pytest.raises(CLParseError):
        parse(text + " ")


# Round trips


def ip_pair(version: int) -> st.SearchStrategy[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]]:
    addresses = st.ip_addresses(v=version)
    return st.tuples(addresses, addresses.filter(lambda address: not address.is_unspecified))


ports = st.integers(min_value=1, max_value=65535)
masks = st.integers(min_value=0, max_value=32).map(lambda length: ipaddress.IPv4Network((0, length)).netmask)
end_connections = st.builds(
    lambda pair, local_port, remote_port: EndTcpConnection.build(pair[0], local_port, pair[1], remote_port),
    st.one_of(ip_pair(4), ip_pair(6)),
    ports,
    ports,
)
list_entries = st.builds(
    lambda cls, list_type, address, mask: cls.build(list_type, address, mask),
    st.sampled_from([AddSmtpListEntry, RemoveSmtpListEntry]),
    st.sampled_from(SMTP_LIST_TYPES),
    st.ip_addresses(v=4),
    masks,
)
relay_changes = st.builds(ChangeSmtpRelay.build, st.sampled_from(RELAY_POLICIES))
server_commands = st.sampled_from([EndTcpServer.build(), StartTcpServer.build()])
commands: st.SearchStrategy[ClCommand] = st.one_of(end_connections, list_entries, relay_changes, server_commands)


def spaced_out(text: str, data: st.DataObject) -> str:
    """text with extra blanks around every parameter and inside every parenthesis."""

    def blanks(minimum: int) -> str:
        return " " * data.draw(st.integers(min_value=minimum, max_value=4))

    words = [word.replace("(", "(" + blanks(0)).replace(")", blanks(0) + ")") for word in text.split(" ")]
    return blanks(0) + "".join(word + blanks(1) for word in words)


@PROPERTY
@given(commands, st.data())
def test_parse_round_trips_every_command_in_any_case_and_spacing(command: ClCommand, data: st.DataObject) -> None:
    text = command.to_cl()
    assert parse(text) == command
    assert parse(text.lower()) == command
    assert parse(spaced_out(text, data)) == command


@PROPERTY
@given(end_connections)
def test_build_from_text_equals_build_from_objects(command: EndTcpConnection) -> None:
    rebuilt = EndTcpConnection.build(
        str(command.local_address),
        str(command.local_port),
        str(command.remote_address),
        str(command.remote_port),
    )
    assert rebuilt == command


# Hostile text

LOOK_ALIKES = [
    "１",
    "２３",
    "٣",
    "۵",
    "．",
    "。",
    "а",
    "Е",
    "о",
    "ｘ",
    "\u200b",
    "\u00a0",
    "\ufeff",
    "\ud800",
]
HOSTILE_PIECES = [
    "'",
    "''",
    '"',
    "(",
    ")",
    "+",
    "-",
    ";",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\u2028",
    "%eth0",
    "[",
    "]",
    "') CHGSMTPA ALWRLY(*ALL",
    "<!channel>",
    *LOOK_ALIKES,
]

# (parameter, a valid text value, build with that value replaced)
PARAMETERS: list[tuple[str, str, Callable[[str], object]]] = [
    ("LCLINTNETA", "10.1.1.5", lambda v: EndTcpConnection.build(v, 23, "10.9.9.9", 51123)),
    ("LCLINTNETA", "2001:db8::5", lambda v: EndTcpConnection.build(v, 23, "2001:db8::9", 51123)),
    ("LCLPORT", "23", lambda v: EndTcpConnection.build("10.1.1.5", v, "10.9.9.9", 51123)),
    ("RMTINTNETA", "10.9.9.9", lambda v: EndTcpConnection.build("10.1.1.5", 23, v, 51123)),
    ("RMTPORT", "51123", lambda v: EndTcpConnection.build("10.1.1.5", 23, "10.9.9.9", v)),
    ("TYPE", "*ACCEPT", lambda v: AddSmtpListEntry.build(v, "10.1.1.0", "255.255.255.0")),
    ("INTNETADR", "10.1.1.0", lambda v: AddSmtpListEntry.build("*ACCEPT", v, "255.255.255.0")),
    ("SUBNETMASK", "255.255.255.0", lambda v: AddSmtpListEntry.build("*ACCEPT", "10.1.1.0", v)),
    ("SUBNETMASK", "/24", lambda v: RemoveSmtpListEntry.build("*ACCEPT", "10.1.1.0", v)),
    ("TYPE", "reject", lambda v: RemoveSmtpListEntry.build(v, "10.1.1.0", "255.255.255.0")),
    ("ALWRLY", "*LIST", ChangeSmtpRelay.build),
]


@st.composite
def hostile_variants(draw: st.DrawFn, valid: str) -> str:
    """valid text spoiled by a hostile piece, or swamped: never a valid value."""
    piece = draw(st.sampled_from(HOSTILE_PIECES))
    how = draw(st.sampled_from(["insert", "surround", "long"]))
    if how == "long":
        return valid + draw(st.sampled_from(["1", "a", ".", ":", "*"])) * 10_000
    if how == "surround":
        return draw(st.text(max_size=10)) + piece + draw(st.text(max_size=10))
    at = draw(st.integers(min_value=0, max_value=len(valid)))
    return valid[:at] + piece + valid[at:]


def assert_safe_message(error: Exception) -> None:
    message = str(error)
    assert "\n" not in message and "\r" not in message and "<" not in message
    assert message.isprintable()
    assert len(message) < 400


@pytest.mark.parametrize(("parameter", "valid", "make"), PARAMETERS)
def test_valid_values_used_by_the_hostile_tests_are_valid(
    parameter: str, valid: str, make: Callable[[str], object]
) -> None:
    make(valid)
    make(f"  {valid} ")


@pytest.mark.parametrize("piece", HOSTILE_PIECES)
@pytest.mark.parametrize(("parameter", "valid", "make"), PARAMETERS)
def test_every_parameter_rejects_every_hostile_piece(
    parameter: str, valid: str, make: Callable[[str], object], piece: str
) -> None:
    for text in (piece, valid + piece, piece + valid, valid[:1] + piece + valid[1:]):
        with pytest.raises(CLValidationError) as caught:
            make(text)
        assert caught.value.parameter == parameter
        assert_safe_message(caught.value)


@PROPERTY
@given(st.sampled_from(PARAMETERS), st.data())
def test_build_rejects_hostile_text(case: tuple[str, str, Callable[[str], object]], data: st.DataObject) -> None:
    parameter, valid, make = case
    text = data.draw(hostile_variants(valid))
    with pytest.raises(CLValidationError) as caught:
        make(text)
    assert caught.value.parameter == parameter
    assert_safe_message(caught.value)


@PROPERTY
@given(commands, st.sampled_from(HOSTILE_PIECES), st.text(max_size=20), st.sampled_from(["", " "]))
def test_parse_rejects_a_valid_command_with_hostile_text_appended(
    command: ClCommand, piece: str, tail: str, gap: str
) -> None:
    with pytest.raises((CLParseError, CLValidationError)) as caught:
        parse(command.to_cl() + gap + piece + tail)
    assert_safe_message(caught.value)


@PROPERTY
@given(commands, st.data())
def test_parse_rejects_hostile_text_in_a_quoted_value(command: ClCommand, data: st.DataObject) -> None:
    text = command.to_cl()
    start = text.find("'")
    if start < 0:
        text = text.replace("ALWRLY(", "ALWRLY('", 1).replace(")", "')", 1)
        start = text.find("'")
    end = text.find("'", start + 1)
    hostile = data.draw(hostile_variants(text[start + 1 : end]))
    spoiled = text[:start] + quote_cl_string(hostile) + text[end + 1 :]
    with pytest.raises((CLParseError, CLValidationError)) as caught:
        parse(spoiled)
    assert_safe_message(caught.value)


CL_ALPHABET = st.sampled_from(list("ACDEILMNOPRSTWY*.:_' ()+-;0123456789\n１．а"))


@PROPERTY
@given(
    st.sampled_from(["ENDTCPCNN ", "ADDSMTPLE ", "RMVSMTPLE ", "CHGSMTPA ", ""]),
    st.text(alphabet=CL_ALPHABET, max_size=60) | st.text(max_size=60),
)
def test_parse_only_ever_returns_a_command_that_round_trips_or_raises_its_errors(prefix: str, rest: str) -> None:
    try:
        command = parse(prefix + rest)
    except (CLParseError, CLValidationError) as error:
        assert_safe_message(error)
    else:
        assert parse(command.to_cl()) == command


@pytest.mark.parametrize("server", ["*SMTP", "smtp", " *smtp "])
def test_smtp_server_commands_build_the_documented_commands(server: str) -> None:
    assert EndTcpServer.build(server).to_cl() == "QSYS/ENDTCPSVR SERVER(*SMTP)"
    assert StartTcpServer.build(server).to_cl() == "QSYS/STRTCPSVR SERVER(*SMTP)"


@pytest.mark.parametrize("server", ["*ALL", "*TELNET", "*HTTP", "", None, "*SMTP *FTP"])
def test_smtp_server_commands_refuse_every_other_server(server: object) -> None:
    for command in (EndTcpServer, StartTcpServer):
        with pytest.raises(CLValidationError) as raised:
            command.build(server)  # type: ignore[arg-type]
        assert raised.value.parameter == "SERVER" and raised.value.accepted == "*SMTP"
    with pytest.raises(CLValidationError):
        EndTcpServer("*ALL")


@pytest.mark.parametrize(
    "text",
    ["QSYS/ENDTCPSVR SERVER(*SMTP)", "ENDTCPSVR *SMTP", "endtcpsvr server(smtp)", "*LIBL/ENDTCPSVR SERVER(*SMTP)"],
)
def test_parse_end_tcp_server_forms(text: str) -> None:
    assert parse(text) == EndTcpServer.build()


@pytest.mark.parametrize("text", ["STRTCPSVR SERVER(*ALL)", "STRTCPSVR", "STRTCPSVR SERVER(*SMTP) INSTANCE(X)"])
def test_parse_refuses_other_tcp_servers_and_parameters(text: str) -> None:
    with pytest.raises((CLParseError, CLValidationError)):
        parse(text)
