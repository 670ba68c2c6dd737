"""The [[systems]] tables: connection, trusted networks, credential variable names and the demo."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from bot.config.model import (
    DEMO_RELEASES,
    DEMO_REMOVABLE_AUTHORITIES,
    DEMO_STATEMENT_FAILURES,
    MAPEPIRE_DEFAULT_PORT,
    MAPEPIRE_SCHEME,
    DemoSettings,
    IPNetwork,
    SystemSettings,
)
from bot.config.readers.checks import read_check_overrides
from bot.config.validation import Problems, Section, not_empty, pattern_check, wrong_type_text
from bot.net import AddressProblem, parse_typed_network

_SYSTEM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_CREDENTIAL_KEY = re.compile(r"(?:^|;)\s*(?:UID|USERID|PWD|PASSWORD)\s*=", re.IGNORECASE)
_DRIVER_OR_DSN = re.compile(r"(?:^|;)\s*(?:DRIVER|DSN)\s*=\s*[^;\s]", re.IGNORECASE)

CONNECTION_FORM = (
    '"demo", an ODBC connection string like '
    "'DRIVER={IBM i Access ODBC Driver};SYSTEM=ibmi.example.com;SSL=1', "
    "'DSN=<name>' ('DSN=*LOCAL' when running on IBM i), "
    f"or a Mapepire server like '{MAPEPIRE_SCHEME}ibmi.example.com' or '{MAPEPIRE_SCHEME}ibmi.example.com:8076'"
)
MAPEPIRE_FORM = (
    f"'{MAPEPIRE_SCHEME}HOST' or '{MAPEPIRE_SCHEME}HOST:PORT' (port 1-65535, default {MAPEPIRE_DEFAULT_PORT}; "
    "an IPv6 address in brackets), with no user, password, path or query"
)
NETWORK_FORM = "CIDR like '10.0.0.0/8' or an address like '192.0.2.7'"


def _check_connection(value: str) -> str | None:
    if value == "demo":
        return None
    if value.lower().startswith(MAPEPIRE_SCHEME):
        return _check_mapepire(value)
    if _CREDENTIAL_KEY.search(value):
        # The value holds a password: never repeat it.
        return (
            "contains credentials (UID=/PWD=); expected a connection string without them: "
            "the user and password come from the environment variables named by user_env and password_env"
        )
    if _DRIVER_OR_DSN.search(value):
        return None
    return f"{value!r} is not a connection; expected {CONNECTION_FORM}"


def _check_mapepire(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is not None and "@" in parts.netloc:
        # The value may hold a password: never repeat it.
        return (
            "contains a user or password before '@'; expected "
            f"{MAPEPIRE_FORM}: the user and password come from the environment variables named by "
            "user_env and password_env"
        )
    if parts is None or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{value!r} is not a Mapepire address; expected {MAPEPIRE_FORM}"
    if port == 0:
        return f"{value!r} has port 0; expected {MAPEPIRE_FORM}"
    return None


_SYSTEM_KEYS = (
    "name",
    "connection",
    "trusted",
    "user_env",
    "password_env",
    "login_timeout",
    "query_timeout",
    "statement_deadline",
    "command_deadline",
    "demo",
    "checks",
    "ca_file",
)
_DEMO_KEYS = (
    "path",
    "latency",
    "hang",
    "traffic",
    "traffic_interval",
    "seed",
    "missing_authorities",
    "release",
    "fail_statements",
)


def read_systems(root: Section) -> tuple[SystemSettings, ...]:
    entries = root.typed("systems", list, "an array of tables", "at least one [[systems]] table", required=True)
    if entries is None:
        return ()
    if not entries:
        root.problem("systems", "is empty; expected at least one [[systems]] table")
        return ()
    systems: list[SystemSettings] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        key = f"systems[{index}]"
        if not isinstance(entry, dict):
            root.problems.add(key, wrong_type_text(entry, "a table", "a [[systems]] table"))
            continue
        system = _read_system(Section(root.problems, key, entry, _SYSTEM_KEYS))
        if system.name:
            earlier = first_index.setdefault(system.name.upper(), index)
            if earlier != index:
                root.problems.add(
                    f"{key}.name",
                    f"{system.name!r} is already the name of systems[{earlier}]; "
                    "expected a unique name (case is ignored)",
                )
        systems.append(system)
    return tuple(systems)


def _read_system(section: Section) -> SystemSettings:
    name = section.string(
        "name",
        "a name like 'PROD'",
        required=True,
        check=pattern_check(
            _SYSTEM_NAME, "a system name", "a letter then up to 31 letters, digits, '_' or '-', like 'PROD'"
        ),
    )
    connection = section.string("connection", CONNECTION_FORM, required=True, check=_check_connection)
    trusted = tuple(
        network
        for key, text in section.strings("trusted", NETWORK_FORM)
        if (network := _parse_network(section.problems, key, text)) is not None
    )
    user_env, password_env = _read_credential_names(section)
    demo = _read_demo(section, section.data.get("connection"))
    return SystemSettings(
        name=name or "",
        connection=connection or "",
        trusted=trusted,
        user_env=user_env,
        password_env=password_env,
        login_timeout=section.duration("login_timeout", 10.0, 0.0, exclusive=True),
        query_timeout=section.duration("query_timeout", 30.0, 0.0, exclusive=True),
        statement_deadline=section.optional_duration("statement_deadline", 0.0, exclusive=True),
        command_deadline=section.optional_duration("command_deadline", 0.0, exclusive=True),
        demo=demo,
        checks=read_check_overrides(section),
        ca_file=_read_ca_file(section),
    )


def _read_ca_file(section: Section) -> Path | None:
    """The PEM file a Mapepire system's certificate is verified against (the system's CA, or its own
    self-signed certificate); without it, the operating system's trusted CAs."""
    expected = "the path of a PEM file holding the CA certificate that signed the Mapepire server's certificate"
    text = section.string("ca_file", expected, check=not_empty(expected))
    if text is None:
        return None
    connection = section.data.get("connection")
    if not (isinstance(connection, str) and connection.lower().startswith(MAPEPIRE_SCHEME)):
        section.problem("ca_file", f"is only used with connection = '{MAPEPIRE_SCHEME}HOST[:PORT]'; remove it here")
        return None
    path = Path(text)
    if not path.is_file():
        section.problem("ca_file", f"{text!r} is not a readable file; expected {expected}")
        return None
    return path


def _parse_network(problems: Problems, key: str, text: str) -> IPNetwork | None:
    """A trusted network, as bot.net reads what a person typed; None (and a problem) when it is refused."""
    try:
        return parse_typed_network(text, NETWORK_FORM)
    except AddressProblem as problem:
        if problem.kind == "host_bits":
            problems.add(key, f"{text} has host bits set; did you mean {problem.suggestion}?")
        elif problem.kind == "mapped":
            problems.add(key, f"{text!r} is an IPv4-mapped IPv6 network; expected {_ipv4_form_of(problem)}")
        elif problem.kind == "invalid":
            problems.add(key, f"{text!r} is not an IP network; expected {NETWORK_FORM}")
        else:
            problems.add(key, problem.message(repr).removesuffix("."))
        return None


def _ipv4_form_of(problem: AddressProblem) -> str:
    if problem.suggestion is None:
        return f"the IPv4 networks written in IPv4 form, like {NETWORK_FORM}"
    return f"the IPv4 form '{problem.suggestion}' instead (IPv4-mapped addresses are matched as IPv4)"


def _read_credential_names(section: Section) -> tuple[str | None, str | None]:
    form = "an environment variable name like 'PROD_USER' (A-Z, 0-9, _)"
    check = pattern_check(_ENV_NAME, "an environment variable name", form)
    user_env = section.string("user_env", form, check=check)
    password_env = section.string("password_env", form, check=check)
    for present, absent in (("user_env", "password_env"), ("password_env", "user_env")):
        if section.has(present) and not section.has(absent):
            section.problem(
                absent, f"missing while {present} is set; expected both user_env and password_env, or neither"
            )
    return user_env, password_env


def _read_demo(section: Section, connection: object) -> DemoSettings | None:
    if not section.has("demo"):
        return DemoSettings() if connection == "demo" else None
    if isinstance(connection, str) and connection != "demo":
        section.problem("demo", 'is only allowed when connection = "demo"; expected no [systems.demo] table here')
        return None
    demo = section.table("demo", _DEMO_KEYS)
    if demo is None:
        return DemoSettings()
    expected_path = "a folder path like 'demo-ibmi'"
    path = demo.string("path", expected_path, check=not_empty(expected_path))
    traffic = demo.boolean("traffic")
    hang = demo.boolean("hang")
    seed = demo.integer("seed")
    return DemoSettings(
        path=Path(path) if path else DemoSettings.path,
        latency=demo.duration("latency", 0.0, 0.0),
        hang=bool(hang),
        traffic=traffic if traffic is not None else False,
        traffic_interval=demo.duration("traffic_interval", 60.0, 0.0, exclusive=True),
        seed=seed if seed is not None else 1,
        missing_authorities=_read_missing_authorities(demo),
        release=_read_release(demo),
        fail_statements=_read_choice(demo, "fail_statements", DEMO_STATEMENT_FAILURES),
    )


def _read_release(demo: Section) -> str:
    return _read_choice(demo, "release", DEMO_RELEASES) or DemoSettings.release


def _read_choice(demo: Section, key: str, choices: tuple[str, ...]) -> str | None:
    expected = "one of " + ", ".join(f'"{choice}"' for choice in choices)
    return demo.string(key, expected, check=lambda value: None if value in choices else f"{value!r} is not {expected}")


def _read_missing_authorities(demo: Section) -> tuple[str, ...]:
    form = f"one of {', '.join(DEMO_REMOVABLE_AUTHORITIES)}"
    missing: list[str] = []
    for key, value in demo.strings("missing_authorities", form):
        if value not in DEMO_REMOVABLE_AUTHORITIES:
            demo.problems.add(key, f"{value!r} is not a special authority the demo can take away; expected {form}")
        elif value in missing:
            demo.problems.add(key, f"{value!r} is listed twice; expected each authority once")
        else:
            missing.append(value)
    return tuple(missing)
