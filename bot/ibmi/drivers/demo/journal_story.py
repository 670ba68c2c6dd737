"""What the demo's audit journal holds: the story written with the demo system, the entries simulated traffic adds,
and the CD entry of every command the bot runs. docs/demo-system.md traces each value to its IBM source.

The story takes the four minutes before it is written (when the demo folder is created, or at the first connection
to a folder made before the demo had a journal), so the checks' windows hold it when the demo is first run.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta

from bot.ibmi.drivers.demo import seed
from bot.ibmi.drivers.demo.journal import JOURNAL, RECEIVERS, Entry, Job, append, demo_now, is_empty

STORY_SPAN = timedelta(minutes=4)

# The texts of the codes (the demo's wording of IBM's layout tables: "PW (Password) journal entries", "AF
# (Authority Failure) journal entries", AUDIT_JOURNAL_CD).
PW_DETAIL = {"P": "Password not valid", "U": "User name not valid", "Q": "Profile disabled"}
AF_DETAIL = {"A": "Not authorized to object", "K": "Special authority violation"}
CD_ENTRY_DETAIL = {"C": "Command run"}
WHERE_RUN_DETAIL = {
    "N": "Interactively from a command line or by choosing a menu option",
    "E": "Passed to QCMDEXC, QCAPCMD or QCAEXEC",
}
SPECIAL_AUTHORITY_FLAGS = ("ALLOBJ", "JOBCTL", "SAVSYS", "SECADM", "SPLCTL", "SERVICE", "AUDIT", "IOSYSCFG")

ATTACKER = "210.107.73.73"  # the seed's unfamiliar telnet peer, signed on as QSECOFR on QPADEV0011
ATTACKER_PORT = 40411
TELNET_DEVICE = "QPADEV0011"
# Who tried, in order, from the attacker's telnet sessions (one session per three tries): profile, PW code.
BURST = [
    ("QSECOFR", "P"), ("QSECOFR", "P"), ("QSYSOPR", "P"),
    ("ADMIN", "U"), ("QSECOFR", "P"), ("QSECOFR", "P"),
    ("OLDADMIN", "Q"), ("QSECOFR", "P"), ("ROOT", "U"),
    ("QSECOFR", "P"), ("QSECOFR", "P"), ("QSECOFR", "P"),
]  # fmt: skip


def sign_on_job(device: str, address: str, port: int) -> Job:
    """The job a failed sign-on at `device` is journaled under (unconfirmed: the device's job, user QUSER)."""
    return Job(device, "QUSER", seed.job_number(address, port))


def password_failure(at: datetime, profile: str, code: str, address: str, port: int, device: str) -> Entry:
    return Entry(
        "PW",
        at,
        "QUSER",
        sign_on_job(device, address, port),
        remote=(address, port),
        values={
            "VIOLATION_TYPE": code,
            "VIOLATION_TYPE_DETAIL": PW_DETAIL[code],
            "AUDIT_USER_NAME": profile,
            "DEVICE_NAME": device,
        },
    )


def profile_change(at: datetime, by: str, job: Job, remote: tuple[str, int], profile: str, held: str) -> Entry:
    """CP: `profile` changed by `by`, its special authorities after the change `held` ("*SPLCTL ...")."""
    flags = {flag: "Y" if f"*{flag}" in held.split() else "N" for flag in SPECIAL_AUTHORITY_FLAGS}
    values = {"ENTRY_TYPE": "A", "USER_PROFILE": profile, "COMMAND_TYPE": "CHG", "STATUS": "*ENABLED", **flags}
    return Entry("CP", at, by, job, remote=remote, values=values)


def command_run(
    at: datetime,
    by: str,
    job: Job,
    command: str,
    where: str,
    remote: tuple[str, int] | None = None,
    program: tuple[str, str] | None = None,
) -> Entry:
    """CD: a CL command run; `command` is its name, OBJECT_NAME the command object QSYS/<name> *CMD."""
    name = command.split()[0].rpartition("/")[2].upper()
    values = {
        "ENTRY_TYPE": "C",
        "ENTRY_TYPE_DETAIL": CD_ENTRY_DETAIL["C"],
        "OBJECT_LIBRARY": "QSYS",
        "OBJECT_NAME": name,
        "OBJECT_TYPE": "*CMD",
        "WHERE_RUN": where,
        "WHERE_RUN_DETAIL": WHERE_RUN_DETAIL[where],
        "COMMAND_STRING": command,
    }
    return Entry("CD", at, by, job, program=program, remote=remote, values=values)


def authority_failure(at: datetime, user: str, job: Job, remote: tuple[str, int], obj: tuple[str, str, str]) -> Entry:
    library, name, object_type = obj
    values = {
        "VIOLATION_TYPE": "A",
        "VIOLATION_TYPE_DETAIL": AF_DETAIL["A"],
        "OBJECT_LIBRARY": library,
        "OBJECT_NAME": name,
        "OBJECT_TYPE": object_type,
        "PATH_NAME": None,
    }
    return Entry("AF", at, user, job, remote=remote, values=values)


def _held(profile: str) -> str:
    return next(user[2] for user in seed.USERS if user[0] == profile)


def story(end: datetime) -> list[Entry]:
    """The seed's story as the journal tells it, in the STORY_SPAN before `end`: failed sign-ons from 210.107.73.73
    over telnet (QSECOFR, and other profiles tried), the sign-on that worked (not journaled), JSMITH's profile
    changed and then given *SPLCTL from that session, CHGSMTPA ALWRLY(*ALL) typed there, and APIUSER refused the
    payroll output queue."""
    start = end - STORY_SPAN
    entries = [
        password_failure(
            start + timedelta(seconds=7 * index),
            profile,
            code,
            ATTACKER,
            ATTACKER_PORT - 20 + 4 * (index // 3),
            TELNET_DEVICE,
        )
        for index, (profile, code) in enumerate(BURST)
    ]
    officer = Job(TELNET_DEVICE, "QSECOFR", seed.job_number(ATTACKER, ATTACKER_PORT))
    session = (ATTACKER, ATTACKER_PORT)
    jsmith = _held("JSMITH")

    def typed(seconds_before: int, command: str) -> Entry:
        return command_run(end - timedelta(seconds=seconds_before), "QSECOFR", officer, command, "N", session)

    def changed(seconds_before: int, held: str) -> Entry:
        return profile_change(end - timedelta(seconds=seconds_before), "QSECOFR", officer, session, "JSMITH", held)

    entries += [
        typed(121, "CHGUSRPRF USRPRF(JSMITH) STATUS(*ENABLED)"),
        changed(120, jsmith),
        typed(91, "CHGUSRPRF USRPRF(JSMITH) SPCAUT(*SPLCTL)"),
        changed(90, f"{jsmith} *SPLCTL"),
        typed(60, "CHGSMTPA ALWRLY(*ALL)"),
    ]
    api = ("13.64.12.40", 52910)  # the seed's cloud-hosted database client
    api_job = Job("QZDASOINIT", "QUSER", seed.job_number(*api))
    entries.append(
        authority_failure(end - timedelta(seconds=30), "APIUSER", api_job, api, ("PAYLIB", "PAYROLL", "*OUTQ"))
    )
    return entries


def ensure_journal(db: sqlite3.Connection) -> None:
    """The journal's objects and audit system values, and the story when the journal is empty (a new folder, or
    one made before the demo had a journal). Runs inside the caller's transaction."""
    if db.execute("SELECT COUNT(*) FROM QSYS2.JOURNAL_INFO").fetchone()[0] == 0:
        library, name, _status = RECEIVERS[-1]
        db.execute("INSERT INTO QSYS2.JOURNAL_INFO VALUES (?, ?, ?, ?)", (*JOURNAL, library, name))
        for library, name, status in RECEIVERS:
            db.execute(
                "INSERT INTO QSYS2.JOURNAL_RECEIVER_INFO VALUES (?, ?, ?, ?, ?)", (library, name, *JOURNAL, status)
            )
    if db.execute("SELECT COUNT(*) FROM QSYS2.SYSTEM_VALUE_INFO").fetchone()[0] == 0:
        for name, value in seed.AUDIT_SYSTEM_VALUES.items():
            db.execute("INSERT INTO QSYS2.SYSTEM_VALUE_INFO VALUES (?, NULL, ?)", (name, value))
    if is_empty(db):
        append(db, story(demo_now()))


# Public addresses that try their luck when traffic is on (the seed's visitors, and the story's attacker).
TRAFFIC_ATTACKERS = ("196.11.240.215", "62.239.237.1", "200.57.141.161", ATTACKER)
TRAFFIC_PROFILES = ("QSECOFR", "QSYSOPR", "ADMIN", "QPGMR", "TEST", "JSMITH", "ROOT")
TRAFFIC_OBJECTS = (("PAYLIB", "PAYROLL", "*OUTQ"), ("HRLIB", "HRREPORTS", "*OUTQ"), ("QSYS", "QAUDJRN", "*JRN"))
TRAFFIC_OFFICE = (("10.1.20.44", "MLOPEZ", "QPADEV0007"), ("10.1.20.31", "JSMITH", "QPADEV0004"))


def traffic_entries(traffic_seed: int, number: int, due: datetime, interval: float) -> list[Entry]:
    """The entries of traffic step `number` (due at `due`), the same for the same seed: now and then a burst of
    failed sign-ons from a public address, a colleague mistyping a password, a refused object or a profile
    change; spread over the interval before `due`."""
    rng = random.Random(f"journal:{traffic_seed}:{number}")
    roll = rng.random()
    entries: list[Entry] = []
    if roll < 0.3:
        address, port = rng.choice(TRAFFIC_ATTACKERS), rng.randint(49152, 65535)
        device = f"QPADEV{rng.randint(21, 99):04d}"
        profiles = rng.sample(TRAFFIC_PROFILES, rng.randint(1, 3))
        for index in range(rng.randint(3, 8)):
            profile = profiles[index % len(profiles)]
            code = "U" if profile in ("ADMIN", "TEST", "ROOT") else "P"
            entries.append(password_failure(due, profile, code, address, port + index // 3, device))
    elif roll < 0.45:
        address, user, device = rng.choice(TRAFFIC_OFFICE)
        entries.append(password_failure(due, user, "P", address, rng.randint(49152, 65535), device))
    elif roll < 0.55:
        address, port, user = "13.64.12.40", 52910, "APIUSER"
        job = Job("QZDASOINIT", "QUSER", seed.job_number(address, port))
        entries.append(authority_failure(due, user, job, (address, port), rng.choice(TRAFFIC_OBJECTS)))
    elif roll < 0.6:
        address, port = "10.1.20.9", rng.randint(49152, 65535)
        job = Job("QPADEV0002", "QSECOFR", seed.job_number(address, port))
        profile = rng.choice(("MLOPEZ", "ETLUSER", "PRTADMIN"))
        command = f"CHGUSRPRF USRPRF({profile}) STATUS(*ENABLED)"
        entries.append(command_run(due, "QSECOFR", job, command, "N", (address, port)))
        entries.append(profile_change(due, "QSECOFR", job, (address, port), profile, _held(profile)))
    step = timedelta(seconds=interval / (len(entries) + 1))
    return [_at(entry, due - step * (len(entries) - index)) for index, entry in enumerate(entries)]


def _at(entry: Entry, at: datetime) -> Entry:
    return Entry(entry.entry_type, at, entry.user, entry.job, entry.program, entry.remote, entry.values)


def bot_command(db: sqlite3.Connection, command: str, job: Job) -> None:
    """The CD entry of a command the bot's profile runs through QSYS2.QCMDEXC: the demo audits its commands
    (CHGUSRAUD AUDLVL(*CMD)). WHERE_RUN 'E' (passed to QCMDEXC) is unconfirmed for QCMDEXC called from SQL."""
    append(db, [command_run(demo_now(), seed.BOT_PROFILE, job, command, "E", program=("QSYS", "QCMDEXC"))])
