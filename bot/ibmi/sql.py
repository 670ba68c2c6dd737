"""Every SQL statement ibmi-warden sends to an IBM i, and the functions that turn rows into dataclasses.

Only columns named in the IBM i reference are used: IBM's documentation and example SQL, and for a
few OUTPUT_QUEUE_INFO columns (DISPLAY_ANY_FILE, OPERATOR_CONTROLLED, AUTHORITY_TO_CHECK,
TEXT_DESCRIPTION) code that queries the view, since IBM's column table does not list them. The ODBC
integration tests run these statements against tables carrying those names, so a misspelt column fails.

Statements in `IBM_ONLY_STATEMENTS` use Db2 for i features SQLite lacks (table functions, aliases
over file members). They are kept apart; the demo system answers them by interpretation.

Sources: IBM Documentation for QSYS2.NETSTAT_INFO, NETSTAT_JOB_INFO, USER_INFO_BASIC, GROUP_PROFILE_ENTRIES,
OUTPUT_QUEUE_INFO, OBJECT_PRIVILEGES, ACTIVE_JOB_INFO, SYSCOLUMNS, SYSPARTITIONSTAT, QCMDEXC,
SYSIBMADM.ENV_SYS_INFO and QSYS2.GROUP_PTF_INFO (the last two cited beside their statements).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from operator import add, itemgetter
from typing import Any, Protocol, TypeVar

from bot.ibmi import audit_journal
from bot.ibmi.errors import NotAuthorizedError
from bot.ibmi.rows import (
    ActiveJob,
    ConnectionJob,
    JobLogMessage,
    NetstatConnection,
    OutputQueue,
    PtfGroup,
    RelayPolicy,
    Release,
    SmtpListEntry,
    SmtpListReading,
    SmtpStatus,
    UserProfile,
)
from bot.ibmi.table import (
    Table,
    as_rows,
    decimal_column,
    int_column,
    required_int_column,
    required_text_column,
    rows_of,
    text_column,
)
from bot.ibmi.table import text as _text

Row = Mapping[str, Any]
T = TypeVar("T")


class Queryable(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def query_rows(
        self, sql: str, params: Sequence[Any], convert: Callable[[Table], list[T]], reuse: bool = False
    ) -> list[T]: ...


# --- NETSTAT -------------------------------------------------------------------------------------

NETSTAT_TCP_CONNECTIONS = """
SELECT CONNECTION_TYPE, REMOTE_ADDRESS, REMOTE_PORT, REMOTE_PORT_NAME,
       LOCAL_ADDRESS, LOCAL_PORT, LOCAL_PORT_NAME, PROTOCOL, TCP_STATE,
       IDLE_TIME, BIND_USER, BYTES_SENT_REMOTELY, BYTES_RECEIVED_LOCALLY
  FROM QSYS2.NETSTAT_INFO
 WHERE PROTOCOL = 'TCP'
"""

NETSTAT_CONNECTION_JOBS = """
SELECT CONNECTION_TYPE, REMOTE_ADDRESS, REMOTE_PORT, LOCAL_ADDRESS, LOCAL_PORT,
       AUTHORIZATION_NAME, JOB_NAME
  FROM QSYS2.NETSTAT_JOB_INFO
 WHERE REMOTE_PORT <> 0
"""

SMTP_LISTENERS = """
SELECT LOCAL_ADDRESS, LOCAL_PORT, TCP_STATE
  FROM QSYS2.NETSTAT_INFO
 WHERE LOCAL_PORT = 25 AND TCP_STATE = 'LISTEN'
"""

# The 'LISTEN' spelling is attested only by third-party code: when no socket at all is listening,
# the spelling (or the profile's authority) is in doubt, and "SMTP is not listening" cannot be said.
LISTENING_SOCKETS = """
SELECT COUNT(*) AS LISTENING
  FROM QSYS2.NETSTAT_INFO
 WHERE TCP_STATE = 'LISTEN'
"""

# Which of some remote addresses have an established connection, asked by key (signon-attacks asks it for the
# addresses it reports, so a large system's whole NETSTAT is not read every minute). An IPv4 peer of an IPv6 socket
# is written IPv4-mapped, so both spellings are asked.
ESTABLISHED_FROM_LIMIT = 500


def established_from_statement(count: int) -> str:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= ESTABLISHED_FROM_LIMIT:
        raise ValueError(f"addresses asked at once must be 1 to {ESTABLISHED_FROM_LIMIT}, not {count!r}")
    markers = ", ".join("?" for _ in range(count))
    return (
        "SELECT DISTINCT REMOTE_ADDRESS FROM QSYS2.NETSTAT_INFO "
        f"WHERE PROTOCOL = 'TCP' AND TCP_STATE = 'ESTABLISHED' AND REMOTE_ADDRESS IN ({markers})"
    )


def read_established_from(conn: Queryable, addresses: Iterable[str]) -> set[str]:
    """The addresses (each as `bot.net.address_text` writes it) with an established connection now. Trust the
    answer only when NETSTAT shows listening sockets (`LISTENING_SOCKETS`): else the profile cannot see them."""
    spellings: dict[str, str] = {}
    for address in addresses:
        spellings[address] = address
        if ":" not in address:
            spellings[f"::ffff:{address}"] = address
    asked = sorted(spellings)
    found: set[str] = set()
    for start in range(0, len(asked), ESTABLISHED_FROM_LIMIT):
        chunk = asked[start : start + ESTABLISHED_FROM_LIMIT]
        rows = conn.query(established_from_statement(len(chunk)), chunk)
        found |= {spellings[text] for row in rows if (text := str(row["REMOTE_ADDRESS"]).strip()) in spellings}
    return found


# --- SMTP ----------------------------------------------------------------------------------------

# 'QTSMTP*' matches the server daemon QTSMTPSRVD and the client jobs; the subsystem is configurable
# with CHGSMTPA SBSD, so no subsystem filter.
# JOB_ACTIVE_TIME (when the job started, in the system's local time, hence - CURRENT TIMEZONE for UTC) needs
# DETAILED_INFO => 'WORK', as in IBM's own ACTIVE_JOB_INFO example (Db2 for i SQL reference, REMOTE TABLE).
SMTP_JOBS = """
SELECT JOB_NAME, JOB_STATUS, SUBSYSTEM, JOB_ACTIVE_TIME - CURRENT TIMEZONE AS JOB_ACTIVE_UTC
  FROM TABLE(QSYS2.ACTIVE_JOB_INFO(JOB_NAME_FILTER => 'QTSMTP*', DETAILED_INFO => 'WORK')) X
"""

# The record layout of QUSRSYS/QATMADRLST is not documented: discover it at run time.
SMTP_LIST_COLUMNS = """
SELECT COLUMN_NAME, SYSTEM_COLUMN_NAME, DATA_TYPE, LENGTH, ORDINAL_POSITION
  FROM QSYS2.SYSCOLUMNS
 WHERE SYSTEM_TABLE_SCHEMA = 'QUSRSYS' AND SYSTEM_TABLE_NAME = 'QATMADRLST'
 ORDER BY ORDINAL_POSITION
"""

SMTP_LIST_MEMBERS = """
SELECT SYSTEM_TABLE_MEMBER, NUMBER_ROWS
  FROM QSYS2.SYSPARTITIONSTAT
 WHERE SYSTEM_TABLE_SCHEMA = 'QUSRSYS' AND SYSTEM_TABLE_NAME = 'QATMADRLST'
"""

SMTP_LIST_ALIAS_NAME = "QTEMP.WARDEN_SMTPLST"
SMTP_LIST_MEMBER_ROWS = f"SELECT * FROM {SMTP_LIST_ALIAS_NAME}"

# A member name is an identifier, not a value, so it cannot be a parameter marker: it is checked
# against the IBM i system-name rules before it is placed in the statement.
_SYSTEM_NAME = re.compile(r"^[A-Z$#@][A-Z0-9$#@_.]{0,9}$")


def smtp_list_alias_statement(member: str) -> str:
    if not _SYSTEM_NAME.fullmatch(member):
        raise ValueError(f"{member!r} is not an IBM i member name (1-10 of A-Z 0-9 $ # @ _ ., not a digit first)")
    return f"CREATE OR REPLACE ALIAS {SMTP_LIST_ALIAS_NAME} FOR QUSRSYS.QATMADRLST ({member})"


# --- Users and special authorities ---------------------------------------------------------------

# USER_INFO_BASIC: "a subset of columns that are returned by the USER_INFO view. It does not return: USER_OWNER,
# USER_CREATOR, SIZE, CREATION_TIMESTAMP, LAST_USED_TIMESTAMP, DAYS_USED_COUNT, LAST_RESET_TIMESTAMP, or
# USER_DEFAULT_PASSWORD. USER_INFO_BASIC typically performs much better than USER_INFO." Every column read here is
# kept. IBM: https://www.ibm.com/docs/en/i/7.6.0?topic=services-user-info-basic-view

# Holders of a special authority directly, and members of group profiles that hold it
# (pattern of IBM's ACS example "Security - Review *ALLOBJ users"). Supplemental groups come from
# GROUP_PROFILE_ENTRIES, not USER_INFO's SUPPLEMENTAL_GROUP_LIST (7.3 SF99703 level 4 and later only).
SPECIAL_AUTHORITY_USERS = """
SELECT AUTHORIZATION_NAME, STATUS, SPECIAL_AUTHORITIES, GROUP_PROFILE_NAME,
       TEXT_DESCRIPTION, PREVIOUS_SIGNON
  FROM QSYS2.USER_INFO_BASIC
 WHERE SPECIAL_AUTHORITIES LIKE ?
    OR AUTHORIZATION_NAME IN (
         SELECT USER_PROFILE_NAME FROM QSYS2.GROUP_PROFILE_ENTRIES
          WHERE GROUP_PROFILE_NAME IN (
                SELECT AUTHORIZATION_NAME FROM QSYS2.USER_INFO_BASIC
                 WHERE SPECIAL_AUTHORITIES LIKE ?))
 ORDER BY AUTHORIZATION_NAME
"""

# GROUP_PROFILE_ENTRIES covers both GRPPRF and SUPGRPPRF links.
SPECIAL_AUTHORITY_GROUP_LINKS = """
SELECT GROUP_PROFILE_NAME, USER_PROFILE_NAME
  FROM QSYS2.GROUP_PROFILE_ENTRIES
 WHERE GROUP_PROFILE_NAME IN (
       SELECT AUTHORIZATION_NAME FROM QSYS2.USER_INFO_BASIC WHERE SPECIAL_AUTHORITIES LIKE ?)
"""

# --- Release and PTF groups ---------------------------------------------------------------------

# "Authorization: None required." IBM: https://www.ibm.com/docs/en/i/latest?topic=services-env-sys-info-view
# (OS_VERSION "Operating system version", OS_RELEASE "Operating system release", VARCHAR(256) nullable).
OS_RELEASE = """
SELECT OS_VERSION, OS_RELEASE
  FROM SYSIBMADM.ENV_SYS_INFO
"""

# "The caller must have *USE authority to the Work with PTF Groups (WRKPTFGRP) command", which IBM ships
# *EXCLUDE to *PUBLIC. IBM: https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzajq/rzajqviewgrpptfinfo.htm
# A group has one row per level on the system; the status of an applied level is 'INSTALLED'.
INSTALLED_PTF_GROUPS = """
SELECT PTF_GROUP_NAME, PTF_GROUP_LEVEL, PTF_GROUP_STATUS
  FROM QSYS2.GROUP_PTF_INFO
 WHERE PTF_GROUP_STATUS = 'INSTALLED'
 ORDER BY PTF_GROUP_NAME, PTF_GROUP_LEVEL
"""

# --- Output queues -------------------------------------------------------------------------------

OUTPUT_QUEUES = """
SELECT OUTPUT_QUEUE_LIBRARY_NAME, OUTPUT_QUEUE_NAME, NUMBER_OF_FILES,
       DISPLAY_ANY_FILE, OPERATOR_CONTROLLED, AUTHORITY_TO_CHECK, TEXT_DESCRIPTION
  FROM QSYS2.OUTPUT_QUEUE_INFO
 ORDER BY OUTPUT_QUEUE_LIBRARY_NAME, OUTPUT_QUEUE_NAME
"""

# Always filtered by library and type: a whole-system scan of OBJECT_PRIVILEGES can take half an hour. The
# libraries of the queues are asked together, as many as PUBLIC_AUTHORITY_LIBRARIES_PER_QUERY to a statement,
# each a parameter marker (IBM documents SYSTEM_OBJECT_SCHEMA as "the library that contains the object":
# https://ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzajq/rzajqviewobjpriv.htm). Whether Db2 for i would push
# a join's predicates into the view instead is unconfirmed, so the filter stays explicit.
_OUTPUT_QUEUE_PUBLIC_AUTHORITY = """
SELECT SYSTEM_OBJECT_SCHEMA, SYSTEM_OBJECT_NAME, OBJECT_AUTHORITY
  FROM QSYS2.OBJECT_PRIVILEGES
 WHERE OBJECT_TYPE = '*OUTQ' AND USER_NAME = '*PUBLIC' AND SYSTEM_OBJECT_SCHEMA IN ({libraries})
"""
# Well under any limit on parameter markers in one statement (SQLite's oldest default is 999).
PUBLIC_AUTHORITY_LIBRARIES_PER_QUERY = 500


def output_queue_public_authority(libraries: int) -> str:
    """The *PUBLIC authority statement for `libraries` libraries: one parameter marker each, never a value."""
    if not 1 <= libraries <= PUBLIC_AUTHORITY_LIBRARIES_PER_QUERY:
        raise ValueError(f"{libraries} libraries: one statement asks for 1 to {PUBLIC_AUTHORITY_LIBRARIES_PER_QUERY}")
    return _OUTPUT_QUEUE_PUBLIC_AUTHORITY.format(libraries=", ".join("?" * libraries))


OUTPUT_QUEUE_PUBLIC_AUTHORITY = output_queue_public_authority(1)  # the statement for one library

# --- CL ------------------------------------------------------------------------------------------

RUN_CL_COMMAND = "CALL QSYS2.QCMDEXC(?)"

# The bot's own server job's log ('*'), read on the connection a CL command runs on: QCMDEXC reports a command
# that fails validation as CPF0006 "Errors occurred in command", and the reason (a diagnostic such as CPD0032) is
# only in the job log. ORDINAL_POSITION is the job log's order: read the newest position before the command and,
# if it fails, the messages after it, so earlier calls' messages are never shown as its reason. IBM:
# https://www.ibm.com/docs/en/ssw_ibm_i_74/rzajq/rzajqudfjobloginfo.htm (no authority needed for one's own job).
JOB_LOG_POSITION = """
SELECT ORDINAL_POSITION
  FROM TABLE(QSYS2.JOBLOG_INFO('*')) X
 ORDER BY ORDINAL_POSITION DESC
 FETCH FIRST 1 ROWS ONLY
"""
JOB_LOG_LIMIT = 10
JOB_LOG_MESSAGES = f"""
SELECT MESSAGE_ID, MESSAGE_TYPE, MESSAGE_TEXT, MESSAGE_TIMESTAMP
  FROM TABLE(QSYS2.JOBLOG_INFO('*')) X
 WHERE ORDINAL_POSITION > ?
 ORDER BY ORDINAL_POSITION DESC
 FETCH FIRST {JOB_LOG_LIMIT} ROWS ONLY
"""

IBM_ONLY_STATEMENTS = {
    "SMTP_JOBS": SMTP_JOBS,
    "SMTP_LIST_ALIAS": smtp_list_alias_statement("MEMBER"),
    "RUN_CL_COMMAND": RUN_CL_COMMAND,
    "JOB_LOG_POSITION": JOB_LOG_POSITION,
    "JOB_LOG_MESSAGES": JOB_LOG_MESSAGES,
    # bot/ibmi/audit_journal.py: a table function (any entry type and row count), and the CURRENT TIMESTAMP register
    "AUDIT_JOURNAL_ENTRIES": audit_journal.entries_statement("PW", 1),
    "AUDIT_SYSTEM_TIME": audit_journal.SYSTEM_TIME,
}


# --- Row conversion ------------------------------------------------------------------------------


def _utc_timestamp(value: Any) -> datetime | None:
    """A UTC timestamp as the driver returns it (datetime, or text in ISO or IBM's 2026-12-02-17.49.20 form)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = _text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}(\.\d+)?", text):
        text = text[:10] + " " + text[11:19].replace(".", ":") + text[19:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def read_tcp_connections(conn: Queryable) -> list[NetstatConnection]:
    # Converted every time (no `reuse`): on a live system, IDLE_TIME and the byte counts change between any two reads.
    return conn.query_rows(NETSTAT_TCP_CONNECTIONS, (), _tcp_connections)


def _tcp_connections(table: Table) -> list[NetstatConnection]:
    columns = table.columns(
        "CONNECTION_TYPE", "REMOTE_ADDRESS", "REMOTE_PORT", "REMOTE_PORT_NAME", "LOCAL_ADDRESS", "LOCAL_PORT",
        "LOCAL_PORT_NAME", "PROTOCOL", "TCP_STATE", "IDLE_TIME", "BIND_USER", "BYTES_SENT_REMOTELY",
        "BYTES_RECEIVED_LOCALLY",
    )  # fmt: skip
    kind, remote, remote_port, remote_name, local, local_port, local_name, protocol, state = columns[:9]
    idle, bind_user, sent, received = columns[9:]
    return rows_of(
        NetstatConnection,
        [
            required_text_column(kind),
            required_text_column(remote),
            required_int_column(remote_port),
            text_column(remote_name),
            required_text_column(local),
            required_int_column(local_port),
            text_column(local_name),
            required_text_column(protocol),
            text_column(state),
            decimal_column(idle),
            text_column(bind_user),
            int_column(sent),
            int_column(received),
        ],
    )


def read_connection_jobs(conn: Queryable) -> list[ConnectionJob]:
    return conn.query_rows(NETSTAT_CONNECTION_JOBS, (), _connection_jobs, reuse=True)


def _connection_jobs(table: Table) -> list[ConnectionJob]:
    kind, remote, remote_port, local, local_port, user, job = table.columns(
        "CONNECTION_TYPE", "REMOTE_ADDRESS", "REMOTE_PORT", "LOCAL_ADDRESS", "LOCAL_PORT", "AUTHORIZATION_NAME",
        "JOB_NAME",
    )  # fmt: skip
    return rows_of(
        ConnectionJob,
        [
            required_text_column(kind),
            required_text_column(remote),
            required_int_column(remote_port),
            required_text_column(local),
            required_int_column(local_port),
            text_column(user),
            text_column(job),
        ],
    )


def read_smtp_listening(conn: Queryable) -> bool | None:
    """True when something listens on port 25; None when NETSTAT shows no listening socket at all."""
    if conn.query(SMTP_LISTENERS):
        return True
    return False if read_any_listening(conn) else None


def read_any_listening(conn: Queryable) -> bool:
    """Whether NETSTAT shows a listening socket at all; without one, what it says of connections is not believed."""
    return bool(conn.query(LISTENING_SOCKETS)[0]["LISTENING"])


def read_smtp_jobs(conn: Queryable) -> list[ActiveJob]:
    return [
        ActiveJob(
            job_name=_text(row["JOB_NAME"]) or "",
            job_status=_text(row["JOB_STATUS"]),
            subsystem=_text(row["SUBSYSTEM"]),
            started_at=_utc_timestamp(row.get("JOB_ACTIVE_UTC")),
        )
        for row in conn.query(SMTP_JOBS)
    ]


RELAY_POLICY_UNREADABLE = (
    "no documented way found to read CHGSMTPA ALWRLY (no SQL service, API or file), so the relay policy is unknown"
)


def read_smtp_status(conn: Queryable) -> SmtpStatus:
    """Whether SMTP listens and runs; each part is None when the profile may not read it. The relay
    policy is always reported unknown here: no documented way to read it was found."""
    try:
        listening: bool | None = read_smtp_listening(conn)
    except NotAuthorizedError:
        listening = None
    try:
        jobs: tuple[ActiveJob, ...] | None = tuple(read_smtp_jobs(conn))
    except NotAuthorizedError:
        jobs = None
    return SmtpStatus(listening, jobs, RelayPolicy(None, "unknown", RELAY_POLICY_UNREADABLE))


def read_smtp_lists(conn: Queryable) -> SmtpListReading:
    """Read every member of QUSRSYS/QATMADRLST. A missing file or no members is "not readable", never "empty"."""
    columns = conn.query(SMTP_LIST_COLUMNS)
    if not columns:
        return SmtpListReading(readable=False, problem="QUSRSYS/QATMADRLST not found or not readable")
    members = [_text(row["SYSTEM_TABLE_MEMBER"]) or "" for row in conn.query(SMTP_LIST_MEMBERS)]
    if not members:
        return SmtpListReading(readable=False, problem="QUSRSYS/QATMADRLST has no members the bot can see")
    entries: list[SmtpListEntry] = []
    records = 0
    for member in members:
        with getattr(conn, "exclusive", nullcontext)():  # no other alias between this one and its SELECT
            conn.query(smtp_list_alias_statement(member))
            member_rows = conn.query(SMTP_LIST_MEMBER_ROWS)
        for row in member_rows:
            records += 1
            entry = _smtp_entry_from_row(member, row)
            if entry is not None:
                entries.append(entry)
    if records and not entries:
        return SmtpListReading(
            readable=False,
            members=tuple(members),
            problem=f"layout not recognised: none of {records} record(s) holds an IPv4 address",
        )
    return SmtpListReading(readable=True, entries=tuple(entries), members=tuple(members))


def _smtp_entry_from_row(member: str, row: Row) -> SmtpListEntry | None:
    """The layout is unknown, so take the first IPv4 address in the row's text as the address and the
    next valid netmask as the mask."""
    texts = tuple(str(v).strip() for v in row.values() if isinstance(v, str) and v.strip())
    tokens = [token for text in texts for token in text.split()]
    addresses = [token for token in tokens if _is_ipv4(token)]
    if not addresses:
        return None
    mask = next((token for token in addresses[1:] if _is_netmask(token)), None)
    return SmtpListEntry(member=member, address=addresses[0], mask=mask, raw=texts)


def _is_ipv4(token: str) -> bool:
    try:
        ipaddress.IPv4Address(token)
    except ValueError:
        return False
    return True


def _is_netmask(token: str) -> bool:
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{token}")
    except ValueError:
        return False
    return True


def _authorities(value: Any) -> frozenset[str]:
    return frozenset(word for word in (_text(value) or "").split() if word.startswith("*"))


def read_special_authority_holders(conn: Queryable, authority: str) -> list[UserProfile]:
    """Profiles holding `authority` (e.g. '*SPLCTL') directly or through a group or supplemental group."""
    if not re.fullmatch(r"\*[A-Z]{3,9}", authority):
        raise ValueError(f"{authority!r} is not a special authority such as '*SPLCTL'")
    pattern = f"%{authority}%"
    rows = conn.query(SPECIAL_AUTHORITY_USERS, (pattern, pattern))
    granting_groups: dict[str, list[str]] = {}
    for link in conn.query(SPECIAL_AUTHORITY_GROUP_LINKS, (pattern,)):
        user = _text(link["USER_PROFILE_NAME"]) or ""
        granting_groups.setdefault(user, []).append(_text(link["GROUP_PROFILE_NAME"]) or "")
    profiles = []
    for row in rows:
        name = _text(row["AUTHORIZATION_NAME"]) or ""
        groups = tuple(sorted(granting_groups.get(name, [])))
        profiles.append(
            UserProfile(
                name=name,
                status=_text(row["STATUS"]),
                special_authorities=_authorities(row["SPECIAL_AUTHORITIES"]),
                group_profile=_text(row["GROUP_PROFILE_NAME"]),
                text=_text(row["TEXT_DESCRIPTION"]),
                previous_signon=_text(row["PREVIOUS_SIGNON"]),
                inherited_authorities={authority: groups} if groups else {},
            )
        )
    return profiles


def read_release(conn: Queryable) -> Release:
    """The IBM i version and release from ENV_SYS_INFO; raises IbmiError when it cannot be read."""
    rows = conn.query(OS_RELEASE)
    if not rows:
        return Release(version=None, release=None)
    return Release(version=_text(rows[0]["OS_VERSION"]), release=_text(rows[0]["OS_RELEASE"]))


def read_installed_ptf_groups(conn: Queryable) -> tuple[PtfGroup, ...]:
    """The newest installed level of each PTF group (SF99xxx and the like), by name."""
    newest: dict[str, PtfGroup] = {}
    for row in conn.query(INSTALLED_PTF_GROUPS):
        group = PtfGroup(
            name=_text(row["PTF_GROUP_NAME"]) or "",
            level=_int(row["PTF_GROUP_LEVEL"]),
            status=_text(row["PTF_GROUP_STATUS"]),
        )
        current = newest.get(group.name)
        if current is None or (group.level or 0) > (current.level or 0):
            newest[group.name] = group
    return tuple(newest[name] for name in sorted(newest))


def output_queue_public_authority_statements(queue_rows: Sequence[Row]) -> list[tuple[str, tuple[str, ...]]]:
    """The statements (with their parameters) reading *PUBLIC authority to the queues of `queue_rows` (rows of
    OUTPUT_QUEUES): their libraries asked together, not one statement per library."""
    return _public_authority_statements(_text(row["OUTPUT_QUEUE_LIBRARY_NAME"]) or "" for row in queue_rows)


def _public_authority_statements(libraries: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    ordered = sorted(set(libraries))
    size = PUBLIC_AUTHORITY_LIBRARIES_PER_QUERY
    batches = [tuple(ordered[start : start + size]) for start in range(0, len(ordered), size)]
    return [(output_queue_public_authority(len(batch)), batch) for batch in batches]


def read_output_queues(conn: Queryable) -> list[OutputQueue]:
    """Output queues the bot's profile can see, each with its *PUBLIC authority (None when not visible)."""
    queues = conn.query_rows(OUTPUT_QUEUES, (), _output_queue_settings, reuse=True)
    public: dict[tuple[str, str], str] = {}
    for statement, batch in _public_authority_statements(map(itemgetter(0), queues)):
        public.update(conn.query_rows(statement, batch, _public_authorities, reuse=True))
    authorities = zip(map(public.get, map(itemgetter(0, 1), queues)))
    return as_rows(OutputQueue, map(add, queues, authorities), _OUTPUT_QUEUE_SETTINGS + 1)


_OUTPUT_QUEUE_SETTINGS = 7  # the fields of OutputQueue read from OUTPUT_QUEUES: all but public_authority


def _output_queue_settings(table: Table) -> list[tuple[Any, ...]]:
    """The values of OUTPUT_QUEUES rows, converted, in the order of OutputQueue's fields."""
    library, name, files, display, operator, check, text = table.columns(
        "OUTPUT_QUEUE_LIBRARY_NAME", "OUTPUT_QUEUE_NAME", "NUMBER_OF_FILES", "DISPLAY_ANY_FILE",
        "OPERATOR_CONTROLLED", "AUTHORITY_TO_CHECK", "TEXT_DESCRIPTION",
    )  # fmt: skip
    return list(
        zip(
            required_text_column(library),
            required_text_column(name),
            int_column(files),
            text_column(display),
            text_column(operator),
            text_column(check),
            text_column(text),
            strict=True,
        )
    )


def _public_authorities(table: Table) -> list[tuple[tuple[str, str], str]]:
    """(library, queue) and *PUBLIC authority, from rows of an output_queue_public_authority statement."""
    schemas, objects, authorities = table.columns("SYSTEM_OBJECT_SCHEMA", "SYSTEM_OBJECT_NAME", "OBJECT_AUTHORITY")
    keys = zip(required_text_column(schemas), required_text_column(objects), strict=True)
    return list(zip(keys, required_text_column(authorities), strict=True))


# --- One profile's special authorities ----------------------------------------------------------

# The bot's own profile, for `ibmi-warden doctor`: does it hold *IOSYSCFG itself?
USER_SPECIAL_AUTHORITIES = """
SELECT AUTHORIZATION_NAME, SPECIAL_AUTHORITIES
  FROM QSYS2.USER_INFO_BASIC
 WHERE AUTHORIZATION_NAME = ?
"""


def read_user_special_authorities(conn: Queryable, profile: str) -> frozenset[str] | None:
    """The special authorities `profile` holds itself (not through a group); None when USER_INFO_BASIC does not show
    the profile (it silently omits profiles the caller may not read)."""
    rows = conn.query(USER_SPECIAL_AUTHORITIES, (profile.strip().upper(),))
    return _authorities(rows[0]["SPECIAL_AUTHORITIES"]) if rows else None


_REASON_TYPES = ("DIAGNOSTIC", "ESCAPE")  # the kinds of message that say why a command failed


def job_log_messages(rows: Sequence[Row]) -> tuple[JobLogMessage, ...]:
    """The rows of JOB_LOG_MESSAGES (newest first) as the messages of the failed call, oldest first.

    Only diagnostic and escape messages are kept; those the SQL interface adds about the call itself
    (SQL0443 and the like) are left out: they restate what the driver already said.
    """
    messages = []
    for row in rows:
        message_id = _text(row.get("MESSAGE_ID"))
        kind = _text(row.get("MESSAGE_TYPE"))
        if (message_id and message_id.upper().startswith("SQL")) or (kind or "").upper() not in _REASON_TYPES:
            continue
        text = _text(row.get("MESSAGE_TEXT")) or ""
        if not (message_id or text):
            continue
        timestamp = row.get("MESSAGE_TIMESTAMP")
        messages.append(
            JobLogMessage(
                message_id=message_id,
                message_type=kind,
                text=text,
                timestamp=None if timestamp is None else str(timestamp),
            )
        )
    return tuple(reversed(messages))
