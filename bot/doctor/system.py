"""Doctor: one IBM i — reachable, what its profile can read, and whether it may run approved SMTP changes."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from bot.config import Config, SystemSettings
from bot.doctor.audit_journal import check_audit_journal
from bot.doctor.driver import IBM_I_ODBC_DRIVER
from bot.doctor.report import (
    FAIL,
    OK,
    UNKNOWN,
    WARN,
    Report,
)
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.drivers.demo.seed import BOT_PROFILE as DEMO_BOT_PROFILE
from bot.ibmi.drivers.mapepire import DRIVER_HELP as MAPEPIRE_HELP
from bot.ibmi.drivers.odbc import DRIVER_HELP
from bot.ibmi.errors import (
    ConnectionFailedError,
    DriverMissingError,
    IbmiError,
    NotAuthorizedError,
    QueryTimeoutError,
    attempted,
)
from bot.ibmi_settings import open_system

# The approval actions that run CHGSMTPA, ADDSMTPLE or RMVSMTPLE, which need *IOSYSCFG.
SMTP_ACTIONS: tuple[str, ...] = ("smtp-add", "smtp-remove", "relay-set")


def _error_text(error: BaseException) -> str:
    """The driver's message without the repeated "<system>: query failed: " prefix."""
    text = str(error)
    return text.split(" failed: ", 1)[1] if " failed: " in text else text


def bot_profile(system: SystemSettings, env: Mapping[str, str] = os.environ) -> str | None:
    """The user profile the bot signs on with: the demo's service profile, the user_env variable's value,
    or None when the system names no user (DSN=*LOCAL runs as the job's own profile)."""
    if system.is_demo:
        return DEMO_BOT_PROFILE
    if system.user_env and env.get(system.user_env):
        return env[system.user_env].strip().upper()
    return None


# IBM support page on IBM i 7.6 *IOSYSCFG audit failures (see docs/ibmi-requirements.md).
AUDITED_REFUSAL_COST = (
    "on IBM i 7.6 each refused NETSTAT read writes an authority-failure entry to the security audit journal "
    "(QAUDJRN), so while this lasts the bot asks again at most hourly and its NETSTAT-based checks say they "
    "cannot see"
)


def _iosyscfg_fix(system: SystemSettings, profile: str | None) -> str:
    user = profile or "<the bot's profile>"
    fix = (
        f"grant *IOSYSCFG or authorise the profile to QIBM_IOSYSCFG_VIEW: "
        f"CHGFCNUSG FCNID(QIBM_IOSYSCFG_VIEW) USER({user}) USAGE(*ALLOWED)"
    )
    if system.demo is not None and "*IOSYSCFG" in system.demo.missing_authorities:
        fix += '; on the demo system: remove "*IOSYSCFG" from [systems.demo] missing_authorities'
    return fix


def check_system(config: Config, system: SystemSettings, report: Report, env: Mapping[str, str] = os.environ) -> None:
    name = system.name
    unset = [variable for variable in (system.user_env, system.password_env) if variable and not env.get(variable)]
    if unset:
        report.add(
            FAIL,
            f"{name}: credentials",
            f"{' and '.join(unset)} not set in the environment",
            fix=f"set {system.user_env} to the bot's user profile and {system.password_env} to its password "
            "in the bot's environment (user_env and password_env name them)",
        )
        return
    connection = open_system(system, env)
    try:
        _check_system(config, system, connection, report, env)
    finally:
        connection.close()


def _check_system(
    config: Config, system: SystemSettings, connection: SystemConnection, report: Report, env: Mapping[str, str]
) -> None:
    name = system.name
    profile = bot_profile(system, env)
    started = time.monotonic()
    connections, netstat_error = attempted(lambda: sql.read_tcp_connections(connection))
    elapsed = time.monotonic() - started
    if isinstance(netstat_error, ConnectionFailedError | DriverMissingError | QueryTimeoutError):
        report.add(FAIL, f"{name}: reachable", _error_text(netstat_error), fix=_reach_fix(system, netstat_error))
        return
    if system.demo is not None:
        where = f"demo system in {system.demo.path}"
    elif system.is_mapepire:
        where = f"signed on through Mapepire at {system.connection} ({_tls_trust(system)})"
    else:
        where = "signed on"
    as_whom = f" as {profile}" if profile else ""
    report.add(OK, f"{name}: reachable", f"{where}{as_whom}; first statement answered in {elapsed * 1000:.0f} ms")
    _check_release(system, connection, report)

    if netstat_error is not None:
        fix = (
            _iosyscfg_fix(system, profile)
            if isinstance(netstat_error, NotAuthorizedError)
            else ("run the statement in ACS Run SQL Scripts as the bot's profile to see why it fails")
        )
        detail = _error_text(netstat_error)
        if isinstance(netstat_error, NotAuthorizedError):
            detail += f"; {AUDITED_REFUSAL_COST}"
        report.add(FAIL, f"{name}: NETSTAT readable", detail, fix=fix)
    else:
        rows = connections or []
        listening = sum(1 for row in rows if row.is_listening)
        if listening:
            report.add(
                OK,
                f"{name}: NETSTAT readable",
                f"{listening} listening socket{'s' if listening != 1 else ''}, "
                f"{sum(1 for row in rows if row.is_established)} established connections",
            )
        else:
            report.add(
                FAIL,
                f"{name}: NETSTAT readable",
                f"QSYS2.NETSTAT_INFO shows no listening socket among {len(rows)} rows: the profile cannot "
                "see the system's connections",
                fix=_iosyscfg_fix(system, profile),
            )

    jobs, jobs_error = attempted(lambda: sql.read_connection_jobs(connection))
    if jobs_error is not None:
        report.add(
            WARN,
            f"{name}: NETSTAT_JOB_INFO readable",
            f"{_error_text(jobs_error)}; findings will lack the job and user of each connection",
            fix=_iosyscfg_fix(system, profile),
        )
    else:
        report.add(OK, f"{name}: NETSTAT_JOB_INFO readable", f"{len(jobs or [])} jobs on remote connections")

    _check_iosyscfg(config, system, connection, profile, report)
    _check_output_queues(system, connection, report)
    _check_smtp(config, system, connection, report)
    check_audit_journal(config, system, connection, report)


def _check_release(system: SystemSettings, connection: SystemConnection, report: Report) -> None:
    """The release (SYSIBMADM.ENV_SYS_INFO, no authority needed) and the installed PTF groups (QSYS2.GROUP_PTF_INFO,
    *USE to WRKPTFGRP): what decides which IBM i services the bot can use (docs/ibmi-access.md)."""
    item = f"{system.name}: IBM i release"
    release, error = attempted(lambda: sql.read_release(connection))
    if error is not None or release is None:
        report.add(
            UNKNOWN,
            item,
            f"cannot see: needs SYSIBMADM.ENV_SYS_INFO ({_error_text(error) if error else 'no row'})",
            fix="the view needs no authority; where it is missing the release predates it: see docs/ibmi-access.md",
        )
    else:
        report.add(OK if release.version else UNKNOWN, item, release.describe())
    item = f"{system.name}: PTF groups"
    groups, error = attempted(lambda: sql.read_installed_ptf_groups(connection))
    if error is not None:
        needs = (
            "*USE to the WRKPTFGRP command"
            if isinstance(error, NotAuthorizedError)
            else "QSYS2.GROUP_PTF_INFO and *USE to the WRKPTFGRP command"
        )
        report.add(
            UNKNOWN,
            item,
            f"cannot see: needs {needs} ({_error_text(error)})",
            fix="GRTOBJAUT OBJ(QSYS/WRKPTFGRP) OBJTYPE(*CMD) USER(<the bot's profile>) AUT(*USE), "
            "or compare the levels in docs/ibmi-access.md by hand (WRKPTFGRP)",
        )
    elif not groups:
        report.add(UNKNOWN, item, "QSYS2.GROUP_PTF_INFO shows no installed PTF group")
    else:
        report.add(OK, item, "installed: " + ", ".join(group.describe() for group in groups))


def _tls_trust(system: SystemSettings) -> str:
    if system.ca_file is not None:
        return f"certificate verified against {system.ca_file}"
    return "certificate verified against the operating system's trusted CAs"


def _reach_fix(system: SystemSettings, error: IbmiError) -> str:
    if isinstance(error, DriverMissingError):
        return MAPEPIRE_HELP if system.is_mapepire else DRIVER_HELP
    if system.is_demo:
        folder = system.demo.path if system.demo is not None else "the demo folder"
        return f"check that {folder} ([systems.demo] path) is a writable folder and not used by another program"
    if isinstance(error, QueryTimeoutError):
        return (
            f"the system answered no statement within query_timeout ({system.query_timeout:g}s): check its "
            "load, or raise query_timeout"
        )
    variables = (
        f"; that {system.user_env} and {system.password_env} hold a valid profile and password"
        if system.user_env
        else ""
    )
    if system.is_mapepire:
        return (
            f"check that the Mapepire server runs on the system and listens at {system.connection} "
            f"(with Service Commander: sc start mapepire), the network path "
            f"to that port, that its certificate is trusted ({_tls_trust(system)}; name the CA's PEM file in "
            f"ca_file){variables}"
        )
    return (
        f"check SYSTEM= (or the DSN) in the connection string, the network path to the host servers "
        f"(the server mapper 449, and 8471 and 8476, or 9471 and 9476 with SSL=1){variables}; and, if the driver "
        "reports it, that "
        f"{IBM_I_ODBC_DRIVER} is installed"
    )


def _check_iosyscfg(
    config: Config, system: SystemSettings, connection: SystemConnection, profile: str | None, report: Report
) -> None:
    item = f"{system.name}: *IOSYSCFG for approved SMTP changes"
    possible = [action for action in SMTP_ACTIONS if config.policy(action).approvers]
    if not possible:
        report.add(OK, item, f"not needed: no one may approve {', '.join(SMTP_ACTIONS)}")
        return
    if profile is None:
        report.add(
            UNKNOWN,
            item,
            "the system names no user_env, so the bot signs on as the job's own profile, which the doctor cannot name",
        )
        return
    held, error = attempted(lambda: sql.read_user_special_authorities(connection, profile))
    if error is not None:
        report.add(UNKNOWN, item, f"{profile}'s special authorities not readable: {_error_text(error)}")
        return
    if held is None:
        report.add(
            UNKNOWN, item, f"QSYS2.USER_INFO does not show {profile} (reading a profile needs *OBJOPR and *READ to it)"
        )
        return
    if "*IOSYSCFG" in held:
        report.add(OK, item, f"{profile} holds *IOSYSCFG")
        return
    holders, _ = attempted(lambda: sql.read_special_authority_holders(connection, "*IOSYSCFG"))
    for holder in holders or []:
        groups = holder.inherited_authorities.get("*IOSYSCFG")
        if holder.name == profile and groups:
            report.add(OK, item, f"{profile} holds *IOSYSCFG through group {', '.join(groups)}")
            return
    keep = " ".join(sorted(held | {"*IOSYSCFG"}))
    report.add(
        FAIL,
        item,
        f"{profile} does not hold *IOSYSCFG, so approved {', '.join(possible)} requests will fail when they run",
        fix=(
            f"CHGUSRPRF USRPRF({profile}) SPCAUT({keep}) (SPCAUT replaces the list: keep what the profile "
            f"holds); or set approvers = [] under [approvals.{possible[0]}]"
            + (" and the other SMTP actions" if len(possible) > 1 else "")
            + " so SMTP changes cannot be requested"
            + (
                '; on the demo system: remove "*IOSYSCFG" from [systems.demo] missing_authorities'
                if system.demo is not None and "*IOSYSCFG" in system.demo.missing_authorities
                else ""
            )
        ),
    )


def _check_output_queues(system: SystemSettings, connection: SystemConnection, report: Report) -> None:
    item = f"{system.name}: output queues readable"
    fix = (
        "the profile needs *READ on the queues, *SPLCTL, or *JOBCTL with OPRCTL(*YES), with *EXECUTE on their "
        "libraries; *SPLCTL or *JOBCTL given only for this are themselves exposures"
    )
    queues, error = attempted(lambda: sql.read_output_queues(connection))
    if error is not None:
        report.add(WARN, item, _error_text(error), fix=fix)
    elif not queues:
        report.add(WARN, item, "QSYS2.OUTPUT_QUEUE_INFO shows no output queue", fix=fix)
    else:
        report.add(OK, item, f"{len(queues)} visible; queues the profile cannot read are left out silently")


def _check_smtp(config: Config, system: SystemSettings, connection: SystemConnection, report: Report) -> None:
    options = config.check_for(system, "smtp-relay").options
    attested = options.get("attested_policy")
    if attested:
        by = f" by {options['attested_by']}" if options.get("attested_by") else ""
        report.add(
            UNKNOWN,
            f"{system.name}: SMTP relay policy",
            f"{sql.RELAY_POLICY_UNREADABLE}; attested in the configuration{by} as {attested}",
        )
    else:
        report.add(
            UNKNOWN,
            f"{system.name}: SMTP relay policy",
            sql.RELAY_POLICY_UNREADABLE,
            fix=f"check it on the system and set attested_policy (and attested_by) under "
            f"[systems.checks.smtp-relay] for {system.name}, or [checks.smtp-relay] for all systems",
        )
    lists, error = attempted(lambda: sql.read_smtp_lists(connection))
    fix = (
        "reading the lists needs *READ to QUSRSYS/QATMADRLST and *USE to the CRTDDMF command "
        "(CREATE ALIAS over each member)"
    )
    item = f"{system.name}: SMTP lists readable"
    if error is not None:
        report.add(WARN, item, _error_text(error), fix=fix)
    elif lists is None or not lists.readable:
        report.add(WARN, item, (lists.problem if lists else None) or "not readable", fix=fix)
    else:
        count = len(lists.entries)
        report.add(OK, item, f"{count} entr{'ies' if count != 1 else 'y'} in members {', '.join(lists.members)}")
