"""ibmi-warden run | demo | check | trace | audit | doctor."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.checks import registry
from bot.cli_text import format_audit, format_findings, owner_text
from bot.config import Config, ConfigError, Secrets, find_example_config, load_config, system_credentials
from bot.config.demo_roles import demo_roles, placeholder_members
from bot.config.load import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH
from bot.config.readers.runtime import host_problem
from bot.listen import ListenError
from bot.logging_setup import configure_logging
from storage import Storage, StorageError, audit, audit_anchors, open_database
from storage.audit_verify import verify
from storage.database import MissingFolderError, make_folder
from storage.private_files import open_private_text

if TYPE_CHECKING:
    from bot.checker import Checker

log = logging.getLogger("ibmi-warden")

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
PRIVATE_UMASK = 0o077
HOST_HELP = "address to listen on with --http (default: [http] host, else 127.0.0.1; 0.0.0.0 for every address)"
HTTP_HELP = "serve Slack's HTTP requests on PORT (1 to 65535) instead of Socket Mode"
CREATE_STORAGE_HELP = "create the folder of [storage] path when it does not exist (refused otherwise: a mistyped path)"
DEBUG_HELP = "log everything, and print the traceback of an unexpected error"
UNEXPECTED_FIX = "run the command again with --debug to see where, and report it"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ibmi-warden", description="IBM i security checks and fixes in Slack.")
    parser.add_argument("--version", action="version", version=f"ibmi-warden {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser, help_text: str) -> None:
        sub.add_argument("--config", metavar="FILE", help=help_text)
        sub.add_argument("--debug", action="store_true", help=DEBUG_HELP)

    def with_http(sub: argparse.ArgumentParser, help_text: str = HTTP_HELP) -> None:
        sub.add_argument("--http", type=_port, metavar="PORT", help=help_text)
        sub.add_argument("--host", type=_host, help=HOST_HELP)

    run = commands.add_parser("run", help="run the bot: Socket Mode, or HTTP with --http PORT")
    with_config(run, "configuration file (default: $WARDEN_CONFIG, then warden.toml)")
    with_http(run)
    run.add_argument("--create-storage", action="store_true", help=CREATE_STORAGE_HELP)

    demo = commands.add_parser("demo", help="the embedded demo IBM i: one check cycle, or the bot with Slack tokens")
    with_config(demo, "configuration file (default: the bundled warden.example.toml)")
    with_http(demo, "with Slack tokens: serve HTTP on PORT (1 to 65535)")

    check = commands.add_parser(
        "check",
        help="run every check once and print the findings",
        epilog=checks_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    with_config(check, "configuration file (default: $WARDEN_CONFIG, then warden.toml)")
    check.add_argument("--system", metavar="NAME", help="only this system")
    check.add_argument("--json", action="store_true", help='print {"findings": [...]} as JSON')
    check.add_argument("--create-storage", action="store_true", help=CREATE_STORAGE_HELP)

    audit_log = commands.add_parser("audit", help="show, verify or export the tamper-evident audit log")
    with_config(audit_log, "configuration file (default: $WARDEN_CONFIG, then warden.toml)")
    audit_mode = audit_log.add_mutually_exclusive_group()
    audit_mode.add_argument(
        "--verify",
        action="store_true",
        help="check the hash chain (with WARDEN_AUDIT_KEY when the log is keyed): exit 0 when intact, "
        "1 when tampered with",
    )
    audit_mode.add_argument(
        "--csv",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write every event as CSV, oldest first, to FILE (default: standard output)",
    )
    audit_mode.add_argument(
        "--last",
        type=_positive_int,
        default=20,
        metavar="N",
        help="print the last N events, oldest first (the default, with N = 20)",
    )
    audit_log.add_argument(
        "--head",
        type=_audit_head,
        metavar="SEQ:HASH",
        help="with --verify: also prove that rows 1 to SEQ are present and unchanged since this head was "
        "anchored (copy it from the audit channel)",
    )

    trace = commands.add_parser("trace", help="who owns an address (RDAP; cached; special ranges answered locally)")
    with_config(
        trace,
        "configuration file (default: $WARDEN_CONFIG, then warden.toml; without any, the [trace] defaults and "
        "a cache that lasts this one run)",
    )
    trace.add_argument("address", help="an IPv4 or IPv6 address")

    doctor = commands.add_parser(
        "doctor", help="check the configuration, IBM i authorities and Slack; print a fix for each failure"
    )
    with_config(doctor, "configuration file (default: $WARDEN_CONFIG, then warden.toml)")
    doctor.add_argument(
        "--http",
        type=_port,
        metavar="PORT",
        help="check for HTTP mode on PORT (SLACK_SIGNING_SECRET) instead of Socket Mode (SLACK_APP_TOKEN)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    previous_umask = os.umask(PRIVATE_UMASK)  # whatever the bot creates is readable by its own user only
    try:
        return _main(argv)
    finally:
        os.umask(previous_umask)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    secrets = Secrets.from_env()
    configure_logging("DEBUG" if args.debug else "WARNING", secrets.values())
    try:
        return _command(args, secrets)
    except ConfigError as error:
        print(f"ibmi-warden: configuration error:\n{error}", file=sys.stderr)
    except MissingFolderError as error:
        print(
            f"ibmi-warden: storage error: {error}; correct [storage] path, create the folder, "
            "or pass --create-storage to have it created",
            file=sys.stderr,
        )
    except StorageError as error:
        print(f"ibmi-warden: storage error: {error}", file=sys.stderr)
    except ListenError as error:
        print(f"ibmi-warden: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    except Exception as error:  # one line and exit 2, never the 1 that `check` and `audit --verify` mean findings by
        log.debug("unexpected error", exc_info=True)
        print(f"ibmi-warden: unexpected error: {type(error).__name__}: {error}; {UNEXPECTED_FIX}", file=sys.stderr)
    return EXIT_ERROR


def _command(args: argparse.Namespace, secrets: Secrets) -> int:
    if args.command == "doctor":  # loads the configuration itself: a broken one is its first finding
        return _doctor(args.config, secrets, args.http, args.debug)
    if args.command == "trace" and not _config_named(args.config):
        return _trace(None, args.address)
    config = _load(args)
    configure_logging(_log_level(args, config, secrets), secrets.values() + _system_secret_values(config))
    if getattr(args, "create_storage", False) or args.command == "demo":  # the demo makes its own
        make_folder(config.storage.path)
    try:
        if args.command == "trace":
            return _trace(config, args.address)
        if args.command == "check":
            return _check(config, args.system, args.json)
        if args.command == "demo":
            return _demo(config, secrets, args)
        if args.command == "audit":
            return _audit(config, args, secrets)
        return _run(config, secrets, args.http, args.host or config.http.host)
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{config.storage.path}: {error}{_damage_fix(error)}") from error


def _damage_fix(error: sqlite3.DatabaseError) -> str:
    if "malformed" in str(error) or "not a database" in str(error):
        return (
            "; the database is damaged: stop the bot, then restore a backup "
            "(or save what can be read with sqlite3's .recover)"
        )
    return ""


def _config_named(explicit: str | None) -> bool:
    """Whether a configuration was named (--config, WARDEN_CONFIG) or sits in the working directory."""
    return (
        bool((explicit or "").strip() or os.environ.get(CONFIG_ENV_VAR, "").strip())
        or Path(DEFAULT_CONFIG_PATH).exists()
    )


def _doctor(config_path: str | None, secrets: Secrets, http_port: int | None, debug: bool) -> int:
    """0 when everything the configuration needs holds, 1 when an item failed, 2 when it cannot be loaded."""
    from bot.doctor import run_doctor

    configure_logging("DEBUG" if debug else "WARNING", secrets.values())
    return run_doctor(config_path, secrets, http_port=http_port)


def _load(args: argparse.Namespace) -> Config:
    if args.command == "demo":  # WARDEN_DEMO_OPERATORS and WARDEN_DEMO_APPROVERS stand in for [roles]
        return load_config(args.config or find_example_config(), roles=demo_roles(os.environ))
    return load_config(args.config)


def _log_level(args: argparse.Namespace, config: Config, secrets: Secrets) -> str:
    """A one-off cycle prints its findings; progress lines would only interleave with them."""
    if args.debug:
        return "DEBUG"
    runs_bot = args.command == "run" or (args.command == "demo" and _joins_slack(secrets, args.http))
    return config.log_level if runs_bot or config.log_level == "DEBUG" else "WARNING"


def _joins_slack(secrets: Secrets, http_port: int | None) -> bool:
    return bool(secrets.slack_bot_token and (secrets.slack_app_token or http_port is not None))


def _system_secret_values(config: Config) -> list[str]:
    names = [s.password_env for s in config.systems if s.password_env]
    return [os.environ[n] for n in names if os.environ.get(n)]


def _checker(config: Config) -> Checker:
    from bot.checker import build_checker  # imported lazily to keep `--help` fast

    _require_credentials(config)
    return build_checker(config)


def _require_credentials(config: Config) -> None:
    """A system whose user or password variable is unset is a configuration error, found before starting."""
    problems: list[str] = []
    for system in config.systems:
        try:
            system_credentials(system)
        except ConfigError as error:
            problems += error.problems
    if problems:
        raise ConfigError(problems)


def checks_text() -> str:
    """The known checks, one a line, for `ibmi-warden check --help`."""
    lines = ["checks (turn one off with enabled = false under [checks.<id>]):"]
    for check in registry.checks():
        every = f"{check.default_interval / 3600:g}h" if check.default_interval >= 3600 else ""
        every = every or f"{check.default_interval / 60:g}m"
        lines.append(f"  {check.id:22} {check.title} (every {every})")
    return "\n".join(lines)


def _check(config: Config, system: str | None, as_json: bool) -> int:
    if system is not None:
        try:
            config.system(system)
        except KeyError:
            names = ", ".join(s.name for s in config.systems)
            print(f"ibmi-warden: unknown system {system!r}; configured: {names}", file=sys.stderr)
            return EXIT_ERROR
    checker = _checker(config)
    try:
        result = checker.checks.run_cycle(system)
    finally:
        checker.close()
    if as_json:
        print(json.dumps({"findings": [f.to_json() for f in result.findings], "errors": result.errors}, indent=2))
    else:
        print(format_findings(result.findings, result.errors))
    if result.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if any(f.at_least_warning for f in result.findings) else EXIT_OK


def _demo(config: Config, secrets: Secrets, args: argparse.Namespace) -> int:
    if not any(s.is_demo for s in config.systems):
        print('ibmi-warden: the configuration has no system with connection = "demo"', file=sys.stderr)
        return EXIT_ERROR
    if _joins_slack(secrets, args.http):
        placeholders = placeholder_members(config)
        if placeholders:
            print(
                f"ibmi-warden: the roles name only the example's placeholders ({', '.join(placeholders)}), so nobody "
                "can request or approve a change; to try that, set WARDEN_DEMO_OPERATORS and WARDEN_DEMO_APPROVERS "
                "to Slack member ids (profile → ⋮ → Copy member ID), a second person as approver",
                file=sys.stderr,
            )
        return _run(config, secrets, args.http, args.host or config.http.host)
    folders = ", ".join(str(s.demo.path) for s in config.systems if s.demo)
    print(f"ibmi-warden {__version__} — one check cycle on the embedded demo IBM i ({folders})\n")
    status = _check(config, None, as_json=False)
    print(
        f"\nRecorded in {config.storage.path}. With SLACK_BOT_TOKEN and SLACK_APP_TOKEN set, "
        "`ibmi-warden demo` joins Slack over Socket Mode instead."
    )
    return EXIT_OK if status in (EXIT_OK, EXIT_FINDINGS) else status


def _run(config: Config, secrets: Secrets, http_port: int | None, host: str) -> int:
    missing = _missing_secrets(secrets, http_port)
    if missing:
        print(
            f"ibmi-warden: set {' and '.join(missing)} in the environment "
            f"({'HTTP' if http_port is not None else 'Socket Mode'} needs them)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    from bot.runtime import Runner
    from bot.slack.startup import TokenRefused
    from bot.wiring import build_app, build_bot

    _require_credentials(config)
    bot = build_bot(config, secrets)
    app = build_app(bot, secrets, http=http_port is not None)
    try:  # waits for Slack to answer auth.test (checks run meanwhile); closes the bot
        Runner(app, bot, secrets.slack_app_token, http_port, host).run_until_signalled()
    except TokenRefused as refused:
        print(f"ibmi-warden: {refused}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, not {text!r}")
    return value


def _host(text: str) -> str:
    problem = host_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def _audit_head(text: str) -> tuple[int, str]:
    try:
        return audit_anchors.parse_head(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _audit(config: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    if args.head is not None and not args.verify:
        print("ibmi-warden: --head goes with --verify: audit --verify --head SEQ:HASH", file=sys.stderr)
        return EXIT_ERROR
    key = secrets.audit_key_bytes() if args.verify else None
    path = config.storage.path
    if not path.exists():  # a read-only command: never create an empty database that reads as intact
        print(
            f"ibmi-warden: no database at {path} (storage.path); the bot has not run with this configuration here",
            file=sys.stderr,
        )
        return EXIT_ERROR
    storage = open_database(path, __version__)
    try:
        if args.verify:
            return _verify_audit(storage, key, args.head)
        if args.csv is not None:
            if args.csv == "-":
                audit.export_csv(storage, sys.stdout)
                return EXIT_OK
            try:
                with open_private_text(args.csv) as out:
                    count = audit.export_csv(storage, out)
            except OSError as error:
                print(f"ibmi-warden: cannot write {args.csv}: {error.strerror or error}", file=sys.stderr)
                return EXIT_ERROR
            print(f"{count} audit events written to {args.csv}", file=sys.stderr)
            return EXIT_OK
        events = list(reversed(audit.recent(storage, args.last)))
        print(format_audit(events) if events else "the audit log is empty")
        return EXIT_OK
    except sqlite3.Error as error:
        raise StorageError(f"{path}: {error}") from error
    finally:
        storage.close()


def _verify_audit(storage: Storage, key: bytes | None, head: tuple[int, str] | None) -> int:
    result = verify(storage, key=key, anchor=head)
    if result.needs_key:
        print(f"ibmi-warden: cannot verify: {result.problem}", file=sys.stderr)
        return EXIT_ERROR
    if not result.ok:
        where = f"first bad row {result.first_bad_id}" if result.first_bad_id is not None else "the head"
        print(f"audit log tampered: {where}: {result.problem}")
        return EXIT_FINDINGS
    mode = f"keyed with WARDEN_AUDIT_KEY from row {result.keyed_from}" if result.keyed_from else "unkeyed"
    print(f"audit log intact: {result.rows} rows, head {result.rows}:{result.last_hash} ({mode})")
    if head is not None:
        print(f"rows 1–{head[0]} are present and unchanged since head {head[0]}:{head[1]} was anchored")
    return EXIT_OK


def _trace(config: Config | None, address: str) -> int:
    """The owner of `address`, cached in the configuration's database; without a configuration, with the [trace]
    defaults and a cache in a temporary folder, gone when the command ends."""
    from bot.config.model import TraceSettings
    from bot.net import AddressProblem, parse_typed_address
    from bot.trace import TraceError, Tracer, describe_owner

    try:
        typed = parse_typed_address(address)
    except AddressProblem as problem:
        print(f"ibmi-warden: cannot trace: {problem}", file=sys.stderr)
        return EXIT_ERROR
    settings = config.trace if config else TraceSettings()
    with tempfile.TemporaryDirectory(prefix="ibmi-warden-trace-") as folder:
        storage = open_database(config.storage.path if config else Path(folder) / "rdap-cache.db", __version__)
        try:
            tracer = Tracer(
                storage,
                ttl=settings.ttl,
                timeout=settings.timeout,
                asn_methods=settings.asn_methods,
                max_concurrent=settings.max_concurrent,
            )
            print(owner_text(describe_owner(tracer.trace(str(typed)))))
            return EXIT_OK
        except TraceError as error:
            print(f"ibmi-warden: cannot trace {typed}: {error.message}", file=sys.stderr)
            return EXIT_ERROR
        finally:
            storage.close()


def _missing_secrets(secrets: Secrets, http_port: int | None) -> list[str]:
    needed = {"SLACK_BOT_TOKEN": secrets.slack_bot_token}
    if http_port is None:
        needed["SLACK_APP_TOKEN"] = secrets.slack_app_token
    else:
        needed["SLACK_SIGNING_SECRET"] = secrets.slack_signing_secret
    return [name for name, value in needed.items() if not value]


if __name__ == "__main__":
    raise SystemExit(main())
