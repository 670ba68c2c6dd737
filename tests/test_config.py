"""The configuration file: the example loads, and every kind of mistake is named precisely."""

from __future__ import annotations

import ipaddress
import textwrap
from pathlib import Path

import pytest

from bot.checks.registry import check_ids
from bot.config import (
    APPROVAL_ACTIONS,
    ApprovalPolicy,
    Config,
    ConfigError,
    DemoSettings,
    HttpSettings,
    RoleSettings,
    Secrets,
    SlackSettings,
    SystemSettings,
    TraceSettings,
    find_example_config,
    load_config,
    parse_duration,
    resolve_config_path,
    system_credentials,
)

VALID_SLACK = """
[slack]
alerts_channel = "C0123ALERTS"
approvals_channel = "#ibmi-approvals"
"""

DEMO_SYSTEM = """
[[systems]]
name = "DEMO"
connection = "demo"
trusted = ["10.0.0.0/8"]
"""


def write(tmp_path: Path, text: str, name: str = "warden.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return caught.value.problems


def single_problem(tmp_path: Path, text: str) -> str:
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, problems
    return problems[0]


def with_system(system: str, top: str = "") -> str:
    return top + VALID_SLACK + system


# --- the example ----------------------------------------------------------------------------


def test_example_config_loads_and_runs_against_the_demo() -> None:
    config = load_config(find_example_config(), env={})
    assert config.slack.alerts_channel == "C0123ALERTS"
    assert config.storage.path == Path("warden-demo.db")
    (system,) = config.systems
    assert system.name == "DEMO" and system.is_demo
    assert system.trusted == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.0.0/16"))
    assert system.demo == DemoSettings(path=Path("demo-ibmi"))
    assert set(config.checks) <= set(check_ids())


def test_example_config_commented_systems_are_valid(tmp_path: Path) -> None:
    text = find_example_config().read_text(encoding="utf-8")
    uncommented = "\n".join(
        line[2:]
        if line.startswith(("# [[systems]]", "# name", "# connection", "# trusted", "# user_env ="))
        or line.startswith(("# password_env =", "# login_timeout", "# query_timeout"))
        else line
        for line in text.splitlines()
    )
    config = load_config(write(tmp_path, uncommented), env={})
    prod, local = config.system("PROD"), config.system("local")
    assert prod.connection.startswith("DRIVER={IBM i Access ODBC Driver}")
    assert config.system("EDGE").driver == "mapepire"
    assert (prod.user_env, prod.password_env) == ("PROD_USER", "PROD_PASSWORD")
    assert prod.query_timeout == 60.0 and prod.demo is None
    assert local.connection == "DSN=*LOCAL" and local.user_env is None
    assert config.system("DEMO").user_env == "DEMO_USER"


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, with_system(DEMO_SYSTEM)), env={})
    assert config.log_level == "INFO"
    assert config.slack.command == "/ibmi"
    assert config.roles.operators == ()
    assert config.storage.path == Path("warden.db")
    system = config.systems[0]
    assert (system.login_timeout, system.query_timeout) == (10.0, 30.0)
    assert system.demo == DemoSettings()
    assert config.check("unknown-connections").enabled and config.check("unknown-connections").interval is None


def test_full_settings_are_read(tmp_path: Path) -> None:
    text = with_system(
        """
        [roles]
        viewers = ["@security-team"]
        operators = ["U01OPERATOR", "W0ENTERPRISE"]
        approvers = ["U02APPROVER"]

        [[systems]]
        name = "PROD"
        connection = "DRIVER={IBM i Access ODBC Driver};SYSTEM=ibmi.example.com;SSL=1"
        trusted = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "2001:db8:1::5"]
        user_env = "PROD_USER"
        password_env = "PROD_PASSWORD"
        login_timeout = "1m30s"
        query_timeout = "2m"
        statement_deadline = "2m10s"
        command_deadline = "5m"

        [[systems]]
        name = "DEMO"
        connection = "demo"
        [systems.demo]
        path = "elsewhere"
        latency = "0s"
        hang = true
        traffic = true
        traffic_interval = "10s"
        seed = 7

        [checks.unknown-connections]
        enabled = false
        interval = "1h"
        """,
        top='log_level = "debug"\n',
    )
    config = load_config(write(tmp_path, text), env={})
    assert config.log_level == "DEBUG"
    assert config.roles.viewers == ("@security-team",)
    assert config.roles.operators == ("U01OPERATOR", "W0ENTERPRISE")
    prod = config.system("prod")
    assert [str(n) for n in prod.trusted] == [
        "10.0.0.0/8",
        "192.0.2.7/32",
        "2001:db8::/32",
        "2001:db8:1::5/128",
    ]
    assert (prod.login_timeout, prod.query_timeout) == (90.0, 120.0)
    assert (prod.statement_deadline, prod.command_deadline) == (130.0, 300.0)
    assert config.system("DEMO").statement_deadline is None  # query_timeout plus the margin, in bot.ibmi
    assert prod.demo is None and not prod.is_demo
    assert config.system("DEMO").demo == DemoSettings(
        path=Path("elsewhere"), latency=0.0, hang=True, traffic=True, traffic_interval=10.0, seed=7
    )
    assert config.check("unknown-connections").enabled is False
    assert config.check("unknown-connections").interval == 3600.0


def test_dsn_local_is_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, with_system('[[systems]]\nname = "L"\nconnection = "DSN=*LOCAL"\n')))
    assert config.systems[0].connection == "DSN=*LOCAL"


# --- one test per kind of mistake --------------------------------------------------------------


def test_bad_cidr_names_the_key(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM.replace("10.0.0.0/8", "10.0.0.300/8")))
    assert problem == (
        "warden.toml: systems[0].trusted[0]: '10.0.0.300/8' is not an IP network; "
        "expected CIDR like '10.0.0.0/8' or an address like '192.0.2.7'"
    ).replace("warden.toml", str(tmp_path / "warden.toml"))


def test_host_bits_suggest_the_network(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM.replace("10.0.0.0/8", "10.0.0.1/8")))
    assert "systems[0].trusted[0]: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?" in problem


def test_ipv4_mapped_network_asks_for_the_ipv4_form(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM.replace("10.0.0.0/8", "::ffff:10.0.0.0/104")))
    assert "systems[0].trusted[0]" in problem
    assert "IPv4-mapped" in problem and "'10.0.0.0/8'" in problem


def test_unknown_top_level_key(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM, top='loglevel = "INFO"\n'))
    assert ": loglevel: unknown key (did you mean 'log_level'?); expected one of log_level, slack," in problem


def test_unknown_key_in_a_system(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + 'password = "secret"\n'))
    assert ": systems[0].password: unknown key" in problem
    assert "user_env, password_env" in problem
    assert "secret" not in problem


def test_unknown_key_in_slack(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM).replace("[slack]", '[slack]\ntoken = "xoxb-1"'))
    expected = "expected one of alerts_channel, approvals_channel, audit_channel, fallback_channel, command"
    assert f": slack.token: unknown key; {expected}" in problem


def test_the_bots_own_team_and_app_ids(tmp_path: Path) -> None:
    text = with_system(DEMO_SYSTEM).replace("[slack]", '[slack]\nteam_id = "T0WARDEN"\napp_id = "A0WARDEN"')
    slack = load_config(write(tmp_path, text), env={}).slack
    assert (slack.team_id, slack.app_id) == ("T0WARDEN", "A0WARDEN")
    assert load_config(write(tmp_path, with_system(DEMO_SYSTEM)), env={}).slack.team_id is None
    problems = problems_of(tmp_path, text.replace('"T0WARDEN"', '"warden"').replace('"A0WARDEN"', '"B0BOT"'))
    assert any(": slack.team_id: 'warden' is not a team id; expected 'T' and A-Z 0-9" in p for p in problems)
    assert any(": slack.app_id: 'B0BOT' is not an app id; expected 'A' and A-Z 0-9" in p for p in problems)


def test_missing_channel(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM).replace('alerts_channel = "C0123ALERTS"', ""))
    assert ": slack.alerts_channel: missing; expected a channel id like 'C0123ALERTS'" in problem


def test_missing_slack_table_and_systems(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, 'log_level = "INFO"\n')
    assert any(": slack: missing; expected [slack] with alerts_channel" in p for p in problems)
    assert any(": systems: missing; expected at least one [[systems]] table" in p for p in problems)


def test_bad_channel_id(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM).replace("#ibmi-approvals", "D0123"))
    assert ": slack.approvals_channel: 'D0123' is not a Slack channel; expected a channel id" in problem


def test_bad_slash_command_and_role_member(tmp_path: Path) -> None:
    text = with_system(DEMO_SYSTEM + '\n[roles]\napprovers = ["alice"]\n').replace(
        "[slack]", '[slack]\ncommand = "ibmi"'
    )
    problems = problems_of(tmp_path, text)
    assert any(": slack.command: 'ibmi' is not a slash command" in p for p in problems)
    assert any(": roles.approvers[0]: 'alice' is not a Slack user id or user group" in p for p in problems)


def test_duplicate_system_name_names_both(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + DEMO_SYSTEM.replace('"DEMO"', '"demo"')))
    assert ": systems[1].name: 'demo' is already the name of systems[0]" in problem


def test_bad_system_name(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM.replace('"DEMO"', '"1st system"')))
    assert ": systems[0].name: '1st system' is not a system name" in problem


def test_bad_duration(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + 'query_timeout = "30"\n'))
    assert ": systems[0].query_timeout: '30' is not a duration; expected" in problem
    assert "'1h30m'" in problem


def test_zero_timeout_and_short_check_interval(tmp_path: Path) -> None:
    text = with_system(DEMO_SYSTEM + 'login_timeout = "0s"\n[checks.unknown-connections]\ninterval = "5s"\n')
    problems = problems_of(tmp_path, text)
    assert any(
        "systems[0].login_timeout: '0s' is too short; expected a duration of more than 0s" in p for p in problems
    )
    assert any(
        "checks.unknown-connections.interval: '5s' is too short; expected a duration of at least 10s" in p
        for p in problems
    )


def test_unknown_check(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + "[checks.telnet]\nenabled = false\n"))
    assert ": checks.telnet: unknown check; expected one of unknown-connections" in problem


def test_demo_table_on_an_odbc_system(tmp_path: Path) -> None:
    system = '[[systems]]\nname = "PROD"\nconnection = "DSN=PROD"\n[systems.demo]\nseed = 2\n'
    problem = single_problem(tmp_path, with_system(system))
    assert ': systems[0].demo: is only allowed when connection = "demo"' in problem


@pytest.mark.parametrize("credential", ["UID=QSECOFR;PWD=hunter2", "uid=qsecofr;password=hunter2"])
def test_credentials_in_the_connection_string(tmp_path: Path, credential: str) -> None:
    connection = f"DRIVER={{IBM i Access ODBC Driver}};SYSTEM=ibmi.example.com;{credential}"
    problem = single_problem(tmp_path, with_system(f'[[systems]]\nname = "PROD"\nconnection = "{connection}"\n'))
    assert ": systems[0].connection: contains credentials" in problem
    assert "user_env" in problem and "password_env" in problem
    assert "hunter2" not in problem


def test_connection_that_is_neither_demo_nor_odbc(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system('[[systems]]\nname = "P"\nconnection = "ibmi.example.com"\n'))
    assert ": systems[0].connection: 'ibmi.example.com' is not a connection; expected \"demo\"" in problem


def test_user_env_without_password_env(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + 'user_env = "DEMO_USER"\n'))
    assert ": systems[0].password_env: missing while user_env is set" in problem


def test_wrong_types(tmp_path: Path) -> None:
    text = with_system(
        DEMO_SYSTEM + 'login_timeout = true\n[systems.demo]\ntraffic = "yes"\nseed = 1.5\n',
        top="log_level = 1\n",
    ).replace('"C0123ALERTS"', "42")
    problems = problems_of(tmp_path, text)
    expected = [
        "log_level: expected a string, got an integer",
        "slack.alerts_channel: expected a string, got an integer",
        "systems[0].login_timeout: expected a duration, got a boolean (accepted: a duration like '30s'",
        "systems[0].demo.traffic: expected a boolean, got a string (accepted: true or false)",
        "systems[0].demo.seed: expected an integer, got a float",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    assert len(problems) == len(expected)


def test_demo_fail_statements_names_what_it_accepts(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, with_system(DEMO_SYSTEM + '[systems.demo]\nfail_statements = "SQL0901"\n')))
    assert config.systems[0].demo is not None and config.systems[0].demo.fail_statements == "SQL0901"
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + '[systems.demo]\nfail_statements = "SQL9999"\n'))
    assert 'systems[0].demo.fail_statements: \'SQL9999\' is not one of "SQL0901", "SQL0666", "SQL0551"' in problem


def test_booleans_are_not_integers(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + "[systems.demo]\nseed = true\n"))
    assert "systems[0].demo.seed: expected an integer, got a boolean" in problem


def test_systems_written_as_a_single_table(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system('[systems]\nname = "DEMO"\nconnection = "demo"\n'))
    assert ": systems: expected an array of tables, got a table" in problem


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_SLACK + "[[systems]]\nname = DEMO\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: line 6, column 8: not valid TOML: ")
    assert "Traceback" not in problem


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: no such file; pass --config or set WARDEN_CONFIG")
    assert "bot/warden.example.toml" in problem


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "warden.toml"
    path.write_bytes(b'log_level = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    text = """
    colour = "blue"
    [slack]
    alerts_channel = "alerts"
    [[systems]]
    name = "PROD"
    connection = "demo"
    trusted = ["10.0.0.300/8", "172.16.0.1/12"]
    login_timeout = "soon"
    """
    problems = problems_of(tmp_path, text)
    keys = [p.split(": ")[1] for p in problems]
    assert keys == [
        "colour",
        "slack.alerts_channel",
        "slack.approvals_channel",
        "systems[0].trusted[0]",
        "systems[0].trusted[1]",
        "systems[0].login_timeout",
    ]
    assert str(ConfigError(problems)) == "\n".join(problems)


# --- approvals ------------------------------------------------------------------------------------

ROLES = '[roles]\noperators = ["U01OPERATOR"]\napprovers = ["U02APPROVER", "U03APPROVER"]\n'


def test_example_approvals_and_trace(tmp_path: Path) -> None:
    config = load_config(find_example_config(), env={})
    assert set(config.approvals) == set(APPROVAL_ACTIONS)
    assert all(p == ApprovalPolicy(("U02APPROVER",), 1, 3600.0, True) for p in config.approvals.values())
    assert config.trace == TraceSettings()
    # Every commented key of [approvals] and [trace] is valid as written.
    keys = (
        "# approvers =",
        "# min_approvals",
        "# ttl =",
        "# reason_required",
        "# [approvals.relay-set]",
        "# timeout =",
        "# asn_methods",
        "# max_concurrent",
    )
    text = find_example_config().read_text(encoding="utf-8")
    uncommented = "\n".join(line[2:] if line.startswith(keys) else line for line in text.splitlines())
    config = load_config(write(tmp_path, uncommented), env={})
    assert config.policy("trust") == ApprovalPolicy(("U02APPROVER", "@security-team"), 1, 3600.0, True)
    assert config.policy("relay-set") == ApprovalPolicy(("@security-team",), 2, 86400.0, True)
    assert config.trace == TraceSettings(ttl=7 * 86400.0, timeout=5.0, asn_methods=("dns", "http"), max_concurrent=4)


def test_approval_defaults_come_from_roles(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, with_system(DEMO_SYSTEM + ROLES)), env={})
    expected = ApprovalPolicy(
        approvers=("U02APPROVER", "U03APPROVER"), min_approvals=1, ttl=3600.0, reason_required=True
    )
    assert config.approvals == {action: expected for action in APPROVAL_ACTIONS}
    assert config.policy("end-connection") == expected
    with pytest.raises(KeyError):
        config.policy("format-disk")


def test_approval_defaults_without_roles(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, with_system(DEMO_SYSTEM)), env={})
    assert all(policy == ApprovalPolicy() for policy in config.approvals.values())
    assert ApprovalPolicy() == ApprovalPolicy(approvers=(), min_approvals=1, ttl=3600.0, reason_required=True)


def test_approvals_per_action_over_shared_over_defaults(tmp_path: Path) -> None:
    text = with_system(
        DEMO_SYSTEM
        + ROLES
        + """
[approvals]
min_approvals = 2
ttl = "2h"

[approvals.trust]
approvers = ["@security-team", "U04TRUSTEE"]
reason_required = false

[approvals.end-connection]
min_approvals = 1
ttl = "15m"
"""
    )
    config = load_config(write(tmp_path, text), env={})
    roles = ("U02APPROVER", "U03APPROVER")
    assert config.policy("trust") == ApprovalPolicy(("@security-team", "U04TRUSTEE"), 2, 7200.0, False)
    assert config.policy("end-connection") == ApprovalPolicy(roles, 1, 900.0, True)
    for action in ("smtp-add", "smtp-remove", "relay-set", "untrust"):
        assert config.policy(action) == ApprovalPolicy(roles, 2, 7200.0, True)


def test_shared_approvers_replace_roles_approvers(tmp_path: Path) -> None:
    text = with_system(
        DEMO_SYSTEM + ROLES + '[approvals]\napprovers = ["@secops"]\n[approvals.untrust]\napprovers = []\n'
    )
    config = load_config(write(tmp_path, text), env={})
    assert config.policy("trust").approvers == ("@secops",)
    assert config.policy("untrust").approvers == ()  # nobody may approve: untrust cannot be requested
    assert config.roles.approvers == ("U02APPROVER", "U03APPROVER")


def test_config_built_in_code_has_every_policy() -> None:
    slack = SlackSettings("C0A", "C0B")
    config = Config(
        Path("x.toml"),
        slack,
        (),
        roles=RoleSettings(approvers=("U1AA",)),
        approvals={"trust": ApprovalPolicy(("U2BB",))},
    )
    assert config.policy("trust").approvers == ("U2BB",)
    assert config.policy("smtp-add") == ApprovalPolicy(("U1AA",))
    with pytest.raises(ValueError, match="unknown actions"):
        Config(Path("x.toml"), slack, (), approvals={"reboot": ApprovalPolicy()})


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        (
            "[approvals]\nmin_approvals = 0\n",
            "approvals.min_approvals: 0 is out of range; expected a whole number of at least 1",
        ),
        ('[approvals]\nmin_approvals = "2"\n', "approvals.min_approvals: expected an integer, got a string"),
        ('[approvals]\nttl = "30s"\n', "approvals.ttl: '30s' is too short; expected a duration of at least 1m"),
        ('[approvals]\nttl = "soon"\n', "approvals.ttl: 'soon' is not a duration"),
        (
            '[approvals]\nreason_required = "yes"\n',
            "approvals.reason_required: expected a boolean, got a string (accepted: true or false)",
        ),
        (
            '[approvals]\napprovers = ["alice"]\n',
            "approvals.approvers[0]: 'alice' is not a Slack user id or user group; expected a Slack user id",
        ),
        ('[approvals]\napprovers = "U02APPROVER"\n', "approvals.approvers: expected an array, got a string"),
        (
            "[approvals.smtp-add]\nttl = 30\n",
            "approvals.smtp-add.ttl: 30 is too short; expected a duration of at least",
        ),
        ('[approvals.trust]\napprovers = ["#secops"]\n', "approvals.trust.approvers[0]: '#secops' is not a Slack"),
        ("[approvals.untrust]\nmin_approvals = -1\n", "approvals.untrust.min_approvals: -1 is out of range"),
        ("[approvals]\nrelay-set = true\n", "approvals.relay-set: expected a table, got a boolean"),
        (
            "[approvals.relay]\nmin_approvals = 1\n",
            "approvals.relay: unknown key or action (did you mean 'relay-set'?); expected one of approvers, "
            "min_approvals, ttl, reason_required, limits, end-connection, smtp-add, smtp-remove, smtp-restart, "
            "relay-set, trust, untrust",
        ),
        (
            "[approvals.trust]\nquorum = 2\n",
            "approvals.trust.quorum: unknown key; expected one of approvers, min_approvals, ttl, reason_required",
        ),
        ('approvals = ["U02APPROVER"]\n', "approvals: expected a table, got an array"),
    ],
)
def test_bad_approval_values_name_the_key(tmp_path: Path, table: str, fragment: str) -> None:
    text = with_system(DEMO_SYSTEM + ROLES, top=table if table.startswith("approvals =") else "")
    if not table.startswith("approvals ="):
        text += table
    problem = single_problem(tmp_path, text)
    assert f"{tmp_path / 'warden.toml'}: {fragment}" in problem


def test_min_approvals_that_can_never_be_met(tmp_path: Path) -> None:
    text = with_system(DEMO_SYSTEM + ROLES + "[approvals]\nmin_approvals = 3\n")
    problem = single_problem(tmp_path, text)  # one problem, though six actions inherit it
    assert problem.endswith(
        "approvals.min_approvals: 3 can never be met: approvers (roles.approvers) lists only 2 user ids and no "
        "@usergroup; expected min_approvals of at most 2, or more approvers"
    )


def test_min_approvals_met_by_the_action_that_inherits_it(tmp_path: Path) -> None:
    text = with_system(
        DEMO_SYSTEM + ROLES + "[approvals]\nmin_approvals = 2\n"
        '[approvals.trust]\napprovers = ["U04TRUSTEE", "U04TRUSTEE"]\n'
    )
    problem = single_problem(tmp_path, text)  # duplicates count once
    assert ": approvals.trust.approvers: min_approvals = 2 (approvals.min_approvals) can never be met: " in problem
    assert "(approvals.trust.approvers) lists only 1 user id and no @usergroup" in problem


def test_min_approvals_of_an_action_over_roles_approvers(tmp_path: Path) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + ROLES + "[approvals.trust]\nmin_approvals = 5\n"))
    assert ": approvals.trust.min_approvals: 5 can never be met: approvers (roles.approvers) lists only 2" in problem


@pytest.mark.parametrize("approvers", ['["@security-team"]', '["U02APPROVER", "@security-team"]'])
def test_min_approvals_with_a_user_group_is_accepted(tmp_path: Path, approvers: str) -> None:
    text = with_system(DEMO_SYSTEM + ROLES + f"[approvals.relay-set]\napprovers = {approvers}\nmin_approvals = 3\n")
    assert load_config(write(tmp_path, text), env={}).policy("relay-set").min_approvals == 3


def test_no_approvers_is_accepted(tmp_path: Path) -> None:
    text = with_system(DEMO_SYSTEM + "[approvals.relay-set]\napprovers = []\n[approvals.trust]\nmin_approvals = 1\n")
    config = load_config(write(tmp_path, text), env={})
    assert config.policy("relay-set").approvers == () and config.policy("trust").approvers == ()


# --- trace ----------------------------------------------------------------------------------------------


def test_trace_defaults_work_without_dns() -> None:
    assert TraceSettings() == TraceSettings(ttl=604800.0, timeout=5.0, asn_methods=("http",), max_concurrent=4)


def test_trace_settings_are_read(tmp_path: Path) -> None:
    text = with_system(
        DEMO_SYSTEM + '[trace]\nttl = "1d"\ntimeout = "2.5s"\nasn_methods = ["dns", "whois", "http"]\n'
        "max_concurrent = 16\n"
    )
    assert load_config(write(tmp_path, text), env={}).trace == TraceSettings(86400.0, 2.5, ("dns", "whois", "http"), 16)


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('ttl = "30s"', "trace.ttl: '30s' is too short; expected a duration of at least 1m"),
        ("ttl = [3600]", "trace.ttl: expected a duration, got an array"),
        ('timeout = "0s"', "trace.timeout: '0s' is too short; expected a duration of more than 0s"),
        ('timeout = "5"', "trace.timeout: '5' is not a duration"),
        (
            'asn_methods = ["cymru"]',
            "trace.asn_methods[0]: 'cymru' is not an ASN method; expected one of http, dns, whois",
        ),
        ('asn_methods = ["http", "http"]', "trace.asn_methods[1]: 'http' is listed twice"),
        ("asn_methods = []", "trace.asn_methods: is empty; expected at least one method"),
        ('asn_methods = "http"', "trace.asn_methods: expected an array, got a string"),
        ("asn_methods = [1]", "trace.asn_methods[0]: expected a string, got an integer"),
        ("max_concurrent = 0", "trace.max_concurrent: 0 is out of range; expected a whole number from 1 to 16"),
        ("max_concurrent = 17", "trace.max_concurrent: 17 is out of range; expected a whole number from 1 to 16"),
        ("max_concurrent = 4.0", "trace.max_concurrent: expected an integer, got a float"),
        ("max_concurrent = true", "trace.max_concurrent: expected an integer, got a boolean"),
        ('lookups = "rdap"', "trace.lookups: unknown key; expected one of ttl, timeout, asn_methods, max_concurrent"),
    ],
)
def test_bad_trace_values_name_the_key(tmp_path: Path, table: str, fragment: str) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + f"[trace]\n{table}\n"))
    assert f"{tmp_path / 'warden.toml'}: {fragment}" in problem


def test_bad_trace_values_fall_back_to_defaults(tmp_path: Path) -> None:
    text = with_system(DEMO_SYSTEM + '[trace]\nasn_methods = ["dns", "cymru"]\nmax_concurrent = 99\n')
    problems = problems_of(tmp_path, text)
    assert [p.split(": ")[1] for p in problems] == ["trace.asn_methods[1]", "trace.max_concurrent"]


# --- roles: who may view -------------------------------------------------------------------------


def test_a_star_in_viewers_means_everyone_and_is_refused_elsewhere(tmp_path: Path) -> None:
    text = with_system(DEMO_SYSTEM + '[roles]\nviewers = ["*"]\n')
    assert load_config(write(tmp_path, text), env={}).roles.viewers == ("*",)
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + '[roles]\noperators = ["*"]\n'))
    assert "roles.operators[0]: '*' is not a Slack user id or user group" in problem
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + '[roles]\nviewers = ["everyone"]\n'))
    assert "or '*' for everyone in the workspace" in problem


# --- http ---------------------------------------------------------------------------------------


def test_http_defaults_listen_on_loopback_with_bounds_suited_to_slack() -> None:
    defaults = HttpSettings()
    assert defaults.host == "127.0.0.1" and defaults.max_body_bytes == 1024 * 1024
    assert defaults.channel_timeout == 10.0 and defaults.connection_limit == 100 and defaults.threads == 16


def test_http_settings_are_read(tmp_path: Path) -> None:
    text = with_system(
        DEMO_SYSTEM + '[http]\nhost = "::1"\nmax_body_bytes = 65536\nchannel_timeout = "5s"\n'
        "connection_limit = 20\nthreads = 8\n"
    )
    assert load_config(write(tmp_path, text), env={}).http == HttpSettings("::1", 65536, 5.0, 20, 8)
    assert load_config(write(tmp_path, with_system(DEMO_SYSTEM)), env={}).http == HttpSettings()


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('host = "every address"', "http.host: 'every address' is not an address or host name; expected an address"),
        ("host = 1", "http.host: expected a string, got an integer"),
        ("max_body_bytes = 100", "http.max_body_bytes: 100 is out of range; expected a whole number from 16384 to"),
        ('channel_timeout = "0s"', "http.channel_timeout: '0s' is too short; expected a duration of at least 1s"),
        ("connection_limit = 0", "http.connection_limit: 0 is out of range; expected a whole number of at least 1"),
        ("threads = 65", "http.threads: 65 is out of range; expected a whole number from 1 to 64"),
        ("port = 3000", "http.port: unknown key; expected one of host, max_body_bytes, channel_timeout"),
    ],
)
def test_bad_http_values_name_the_key(tmp_path: Path, table: str, fragment: str) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + f"[http]\n{table}\n"))
    assert f"{tmp_path / 'warden.toml'}: {fragment}" in problem


# --- where the file comes from ------------------------------------------------------------------


def test_explicit_path_beats_environment() -> None:
    env = {"WARDEN_CONFIG": "from-env.toml"}
    assert resolve_config_path("explicit.toml", env) == Path("explicit.toml")
    assert resolve_config_path(None, env) == Path("from-env.toml")
    assert resolve_config_path(None, {}) == Path("warden.toml")
    assert resolve_config_path(None, {"WARDEN_CONFIG": "  "}) == Path("warden.toml")


def test_load_config_reads_warden_config(tmp_path: Path) -> None:
    from_env = write(tmp_path, with_system(DEMO_SYSTEM), name="env.toml")
    explicit = write(tmp_path, with_system(DEMO_SYSTEM.replace('"DEMO"', '"OTHER"')), name="explicit.toml")
    env = {"WARDEN_CONFIG": str(from_env)}
    assert load_config(env=env).systems[0].name == "DEMO"
    assert load_config(env=env).path == from_env
    assert load_config(explicit, env=env).systems[0].name == "OTHER"


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1h30m", 5400), ("0s", 0), ("1.5m", 90)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "", "5 minutes", "1w", "-5s", "30m1h", "1h1h", "h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number with a unit"):
        parse_duration(text)


def test_every_duration_in_the_file_takes_a_number_of_seconds_or_a_duration(tmp_path: Path) -> None:
    numbers = DEMO_SYSTEM + "login_timeout = 15\nquery_timeout = 1.5\n[checks.smtp-relay]\nprobe_timeout = 7\n"
    texts = DEMO_SYSTEM + 'login_timeout = "15s"\nquery_timeout = "1.5s"\n[checks.smtp-relay]\nprobe_timeout = "7s"\n'
    for text in (numbers, texts):
        config = load_config(write(tmp_path, with_system(text, top="[trace]\ntimeout = 3\n")), env={})
        system = config.systems[0]
        assert (system.login_timeout, system.query_timeout, config.trace.timeout) == (15.0, 1.5, 3.0)
        assert config.check_for(system, "smtp-relay").options["probe_timeout"] == 7.0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('probe_timeout = "soon"', "checks.smtp-relay.probe_timeout: 'soon' is not a duration"),
        ("probe_timeout = -1", "checks.smtp-relay.probe_timeout: -1 is not a duration"),
        ('probe_timeout = "0s"', "checks.smtp-relay.probe_timeout: '0s' is too short"),
        ('probe_timeout = "10m"', "checks.smtp-relay.probe_timeout: 600.0 is not a timeout"),
        ("probe_timeout = true", "checks.smtp-relay.probe_timeout: expected a duration, got a boolean"),
    ],
)
def test_a_wrong_check_duration_is_named_once(tmp_path: Path, line: str, expected: str) -> None:
    problem = single_problem(tmp_path, with_system(DEMO_SYSTEM + f"[checks.smtp-relay]\n{line}\n"))
    assert expected in problem


# --- secrets --------------------------------------------------------------------------------------


def odbc_system(**kwargs: str) -> SystemSettings:
    return SystemSettings(name="PROD", connection="DSN=PROD", **kwargs)


def test_system_credentials_read_the_named_variables() -> None:
    system = odbc_system(user_env="PROD_USER", password_env="PROD_PASSWORD")
    env = {"PROD_USER": "WARDEN", "PROD_PASSWORD": "s3cret-value"}
    assert system_credentials(system, env) == ("WARDEN", "s3cret-value")
    assert system_credentials(odbc_system(), env) == (None, None)


def test_system_credentials_error_names_variable_never_value() -> None:
    system = odbc_system(user_env="PROD_USER", password_env="PROD_PASSWORD")
    with pytest.raises(ConfigError) as caught:
        system_credentials(system, {"PROD_USER": "WARDEN-USER-VALUE"})
    message = str(caught.value)
    assert "PROD" in message and "PROD_PASSWORD" in message
    assert "WARDEN-USER-VALUE" not in message


def test_secrets_from_env_and_repr_hides_them() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-bot-token-value",
        "SLACK_APP_TOKEN": "xapp-app-token-value",
        "SLACK_SIGNING_SECRET": " signing-secret-value ",
        "SLACK_API_URL": "http://127.0.0.1:8080/api/",
    }
    secrets = Secrets.from_env(env)
    assert secrets.slack_bot_token == "xoxb-bot-token-value"
    assert secrets.slack_signing_secret == "signing-secret-value"
    assert secrets.slack_api_url == "http://127.0.0.1:8080/api/"
    assert sorted(secrets.values()) == sorted(["xoxb-bot-token-value", "xapp-app-token-value", "signing-secret-value"])
    for value in secrets.values():
        assert value not in repr(secrets)
    assert Secrets.from_env({}) == Secrets()
    assert "xoxb-secret" not in repr(Secrets(slack_bot_token="xoxb-secret"))


# --- the package's shape --------------------------------------------------------------------


def test_example_config_is_the_one_shipped_next_to_the_bot_package() -> None:
    import bot

    assert find_example_config() == Path(bot.__file__).with_name("warden.example.toml")
    assert find_example_config().is_file()


def test_check_ids_come_from_the_check_registry_alone() -> None:
    from bot.checks import registry
    from bot.config.readers.checks import known_check_ids

    assert known_check_ids() == registry.check_ids()
    package = Path(__file__).resolve().parent.parent / "bot" / "config"
    naming = [p.name for p in package.rglob("*.py") for check in known_check_ids() if f'"{check}"' in p.read_text()]
    assert naming == []  # no list of check ids to keep in step with the checks


def test_config_imports_neither_ibmi_nor_services_nor_storage() -> None:
    import ast

    package = Path(__file__).resolve().parent.parent / "bot" / "config"
    imported: set[str] = set()
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module)
    ours = {name for name in imported if name.split(".")[0] in ("bot", "handlers", "storage")}
    # the check registry validates each check's options; bot.net reads the trusted networks
    assert {name for name in ours if not name.startswith("bot.config")} <= {"bot.checks", "bot.net"}


def test_the_fallback_channel_is_a_channel_other_than_the_alerts_channel(tmp_path: Path) -> None:
    text = with_system(DEMO_SYSTEM).replace("[slack]", '[slack]\nfallback_channel = "C0999OPS"')
    assert load_config(write(tmp_path, text), env={}).slack.fallback_channel == "C0999OPS"
    assert load_config(write(tmp_path, with_system(DEMO_SYSTEM)), env={}).slack.fallback_channel is None
    problems = problems_of(tmp_path, text.replace('"C0999OPS"', '"ops channel"'))
    assert any(": slack.fallback_channel: 'ops channel' is not a Slack channel" in p for p in problems)
    alerts = load_config(write(tmp_path, with_system(DEMO_SYSTEM)), env={}).slack.alerts_channel
    problems = problems_of(tmp_path, text.replace('"C0999OPS"', f'"{alerts}"'))
    assert any(": slack.fallback_channel: " in p and "is alerts_channel itself" in p for p in problems)
