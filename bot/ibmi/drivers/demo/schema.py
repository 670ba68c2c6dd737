"""Tables of the embedded demo IBM i, named and shaped like the IBM i services they stand in for.

Column names are IBM's (see docs/ibmi-access.md); SQLite types approximate the Db2 ones.
Each library is one SQLite file, attached under the library's name, so `QSYS2.NETSTAT_INFO` in the
product's SQL finds the demo's table unchanged.
"""

from __future__ import annotations

LIBRARIES = ("QSYS2", "QUSRSYS", "SYSIBMADM", "SYSTOOLS", "WARDEN_DEMO")

# NETSTAT_INFO and NETSTAT_JOB_INFO start with the same columns (IBM's NETSTAT_JOB_INFO page).
_CONNECTION_COLUMNS = """
        CONNECTION_TYPE CHAR(4) NOT NULL,
        REMOTE_ADDRESS VARCHAR(45) NOT NULL,
        REMOTE_PORT INTEGER NOT NULL,
        REMOTE_PORT_NAME VARCHAR(14),
        LOCAL_ADDRESS VARCHAR(45) NOT NULL,
        LOCAL_PORT INTEGER NOT NULL,
        LOCAL_PORT_NAME VARCHAR(14),"""

# QSYS2: the IBM i services (views) and catalog views the product reads.
QSYS2_TABLES = {
    "NETSTAT_INFO": _CONNECTION_COLUMNS
    + """
        PROTOCOL VARCHAR(3) NOT NULL,
        TCP_STATE VARCHAR(12),
        IDLE_TIME DECIMAL(19,3) NOT NULL,
        BIND_USER VARCHAR(10) NOT NULL,
        BYTES_SENT_REMOTELY BIGINT NOT NULL,
        BYTES_RECEIVED_LOCALLY BIGINT NOT NULL""",
    "NETSTAT_JOB_INFO": _CONNECTION_COLUMNS
    + """
        AUTHORIZATION_NAME VARCHAR(10),
        JOB_NAME VARCHAR(28),
        SLIC_TASK_NAME VARCHAR(16)""",
    "USER_INFO": """
        AUTHORIZATION_NAME VARCHAR(10) NOT NULL PRIMARY KEY,
        STATUS VARCHAR(10) NOT NULL,
        PREVIOUS_SIGNON TIMESTAMP,
        SIGN_ON_ATTEMPTS_NOT_VALID INTEGER NOT NULL DEFAULT 0,
        NO_PASSWORD_INDICATOR VARCHAR(3) NOT NULL DEFAULT 'NO',
        SPECIAL_AUTHORITIES VARCHAR(88),
        GROUP_PROFILE_NAME VARCHAR(10),
        SUPPLEMENTAL_GROUP_COUNT INTEGER NOT NULL DEFAULT 0,
        SUPPLEMENTAL_GROUP_LIST VARCHAR(150),
        TEXT_DESCRIPTION VARCHAR(50)""",
    "GROUP_PTF_INFO": """
        COLLECTED_TIME TIMESTAMP,
        PTF_GROUP_NAME VARCHAR(60),
        PTF_GROUP_DESCRIPTION VARCHAR(100),
        PTF_GROUP_LEVEL INTEGER,
        PTF_GROUP_TARGET_RELEASE VARCHAR(6),
        PTF_GROUP_STATUS VARCHAR(20)""",
    "GROUP_PROFILE_ENTRIES": """
        GROUP_PROFILE_NAME VARCHAR(128) NOT NULL,
        USER_PROFILE_NAME VARCHAR(128) NOT NULL,
        USER_TEXT VARCHAR(50)""",
    "OUTPUT_QUEUE_INFO": """
        OUTPUT_QUEUE_NAME VARCHAR(10) NOT NULL,
        OUTPUT_QUEUE_LIBRARY_NAME VARCHAR(10) NOT NULL,
        NUMBER_OF_FILES INTEGER NOT NULL,
        NUMBER_OF_WRITERS INTEGER NOT NULL DEFAULT 0,
        WRITERS_TO_AUTOSTART INTEGER NOT NULL DEFAULT 0,
        PRINTER_DEVICE_NAME VARCHAR(10),
        ORDER_OF_FILES VARCHAR(10),
        DISPLAY_ANY_FILE VARCHAR(10),
        OPERATOR_CONTROLLED VARCHAR(10),
        AUTHORITY_TO_CHECK VARCHAR(10),
        OUTPUT_QUEUE_STATUS VARCHAR(10),
        TEXT_DESCRIPTION VARCHAR(50)""",
    "OBJECT_PRIVILEGES": """
        OBJECT_SCHEMA VARCHAR(128) NOT NULL,
        OBJECT_NAME VARCHAR(128),
        SYSTEM_OBJECT_SCHEMA VARCHAR(10) NOT NULL,
        SYSTEM_OBJECT_NAME VARCHAR(10) NOT NULL,
        OBJECT_TYPE VARCHAR(8) NOT NULL,
        USER_NAME VARCHAR(10) NOT NULL,
        OBJECT_AUTHORITY VARCHAR(12) NOT NULL,
        OWNER VARCHAR(10)""",
    "SYSCOLUMNS": """
        COLUMN_NAME VARCHAR(128) NOT NULL,
        SYSTEM_COLUMN_NAME CHAR(10) NOT NULL,
        SYSTEM_TABLE_SCHEMA CHAR(10) NOT NULL,
        SYSTEM_TABLE_NAME CHAR(10) NOT NULL,
        DATA_TYPE VARCHAR(8) NOT NULL,
        LENGTH INTEGER NOT NULL,
        NUMERIC_SCALE INTEGER,
        CCSID INTEGER,
        ORDINAL_POSITION INTEGER NOT NULL""",
    "SYSPARTITIONSTAT": """
        SYSTEM_TABLE_SCHEMA CHAR(10) NOT NULL,
        SYSTEM_TABLE_NAME CHAR(10) NOT NULL,
        SYSTEM_TABLE_MEMBER CHAR(10) NOT NULL,
        NUMBER_ROWS BIGINT NOT NULL""",
    # The audit journal and its receivers (IBM's JOURNAL_INFO and JOURNAL_RECEIVER_INFO pages).
    "JOURNAL_INFO": """
        JOURNAL_LIBRARY VARCHAR(10) NOT NULL,
        JOURNAL_NAME VARCHAR(10) NOT NULL,
        ATTACHED_JOURNAL_RECEIVER_LIBRARY VARCHAR(10),
        ATTACHED_JOURNAL_RECEIVER_NAME VARCHAR(10)""",
    "JOURNAL_RECEIVER_INFO": """
        JOURNAL_RECEIVER_LIBRARY VARCHAR(10) NOT NULL,
        JOURNAL_RECEIVER_NAME VARCHAR(10) NOT NULL,
        JOURNAL_LIBRARY VARCHAR(10),
        JOURNAL_NAME VARCHAR(10),
        STATUS VARCHAR(10)""",
    # System values (IBM's SYSTEM_VALUE_INFO page): a value is numeric or character, the other column null.
    "SYSTEM_VALUE_INFO": """
        SYSTEM_VALUE_NAME VARCHAR(10) NOT NULL,
        CURRENT_NUMERIC_VALUE BIGINT,
        CURRENT_CHARACTER_VALUE VARCHAR(4096)""",
}

# USER_INFO_BASIC returns USER_INFO's columns less a few the product does not read (IBM's USER_INFO_BASIC page).
QSYS2_VIEWS = {"USER_INFO_BASIC": "SELECT * FROM USER_INFO"}

# SYSIBMADM: the release the demo reports (IBM's ENV_SYS_INFO page).
SYSIBMADM_TABLES = {
    "ENV_SYS_INFO": """
        OS_NAME VARCHAR(256),
        OS_VERSION VARCHAR(256),
        OS_RELEASE VARCHAR(256),
        HOST_NAME VARCHAR(256),
        TOTAL_CPUS INTEGER,
        CONFIGURED_CPUS INTEGER,
        CONFIGURED_MEMORY BIGINT,
        TOTAL_MEMORY INTEGER""",
}

# SYSTOOLS: what the audit journal table functions AUDIT_JOURNAL_PW/CP/CD/AF return, one table each, answered by
# the demo's interpreter (journal.py). Every function returns the same header columns first ("AUDIT JOURNAL table
# function common information"), then its entry type's own; docs/demo-system.md traces each to its IBM source.
# SEQUENCE_NUMBER is the journal's sequence, shared by all four tables, and SQLite's row id: journal order.
JOURNAL_HEADER = """
        ENTRY_TIMESTAMP TIMESTAMP NOT NULL,
        SEQUENCE_NUMBER INTEGER PRIMARY KEY,
        USER_NAME VARCHAR(10),
        QUALIFIED_JOB_NAME VARCHAR(28),
        JOB_NAME VARCHAR(10),
        JOB_USER VARCHAR(10),
        JOB_NUMBER CHAR(6),
        PROGRAM_LIBRARY VARCHAR(10),
        PROGRAM_NAME VARCHAR(10),
        REMOTE_ADDRESS VARCHAR(46),
        REMOTE_PORT INTEGER"""
JOURNAL_COLUMNS = {
    "PW": """
        VIOLATION_TYPE CHAR(1),
        VIOLATION_TYPE_DETAIL VARCHAR(200),
        AUDIT_USER_NAME VARCHAR(10),
        DEVICE_NAME VARCHAR(40)""",
    "CP": """
        ENTRY_TYPE CHAR(1),
        USER_PROFILE VARCHAR(10),
        COMMAND_TYPE VARCHAR(3),
        STATUS VARCHAR(10),
        ALLOBJ CHAR(1),
        JOBCTL CHAR(1),
        SAVSYS CHAR(1),
        SECADM CHAR(1),
        SPLCTL CHAR(1),
        SERVICE CHAR(1),
        AUDIT CHAR(1),
        IOSYSCFG CHAR(1)""",
    "CD": """
        ENTRY_TYPE CHAR(1),
        ENTRY_TYPE_DETAIL VARCHAR(200),
        OBJECT_LIBRARY VARCHAR(10),
        OBJECT_NAME VARCHAR(10),
        OBJECT_TYPE VARCHAR(7),
        WHERE_RUN CHAR(1),
        WHERE_RUN_DETAIL VARCHAR(200),
        COMMAND_STRING VARCHAR(6000)""",
    "AF": """
        VIOLATION_TYPE CHAR(1),
        VIOLATION_TYPE_DETAIL VARCHAR(200),
        OBJECT_LIBRARY VARCHAR(10),
        OBJECT_NAME VARCHAR(10),
        OBJECT_TYPE VARCHAR(7),
        PATH_NAME VARCHAR(5000)""",
}
SYSTOOLS_TABLES = {f"AUDIT_JOURNAL_{kind}": JOURNAL_HEADER + "," + own for kind, own in JOURNAL_COLUMNS.items()}


def journal_table(entry_type: str) -> str:
    """The demo's table behind SYSTOOLS.AUDIT_JOURNAL_<entry_type>."""
    return f"SYSTOOLS.AUDIT_JOURNAL_{entry_type}"


def journal_columns(entry_type: str) -> list[str]:
    """The column names of an entry type's table, in order."""
    text = JOURNAL_HEADER + "," + JOURNAL_COLUMNS[entry_type]
    return [line.split()[0] for line in text.split(",\n") if line.strip()]


# WARDEN_DEMO: state the demo needs that no IBM service exposes. The product never reads it.
WARDEN_DEMO_TABLES = {
    # what QSYS2.ACTIVE_JOB_INFO would return; answered by the demo's table-function interpreter
    "ACTIVE_JOBS": """
        JOB_NAME VARCHAR(28) NOT NULL,
        JOB_STATUS VARCHAR(4),
        SUBSYSTEM VARCHAR(10),
        JOB_ACTIVE_UTC TEXT""",
    # CHGSMTPA values; no documented way to read them was found (no SQL service, API or file)
    "SMTP_ATTRIBUTES": """
        ALLOW_RELAY VARCHAR(5) NOT NULL""",
    # how far the simulated traffic has advanced
    "TRAFFIC": """
        STEP INTEGER NOT NULL,
        STARTED_AT REAL NOT NULL""",
    # the CL commands the demo has run, newest last
    "COMMAND_LOG": """
        RAN_AT TEXT NOT NULL,
        COMMAND TEXT NOT NULL,
        OUTCOME TEXT NOT NULL""",
}

# The record layout of QUSRSYS/QATMADRLST is not documented by IBM. The demo invents one
# (a single character field holding "address mask") so the product's run-time discovery is exercised.
SMTP_LIST_COLUMNS = (("ADRLST", "ADRLST", "CHAR", 92, 1),)
SMTP_LIST_MEMBERS = {"*ACCEPT": "ACCEPT", "*REJECT": "REJECT"}


# Indexes where IBM i's services answer by key (an object by library and name, a connection by its peer, a
# socket by port and state, a group by name, a journal entry by its timestamp), so a demo with many rows costs what
# IBM i would, not a scan per question: (library, index name, table, columns).
INDEXES = (
    ("QSYS2", "NETSTAT_INFO_BY_PEER", "NETSTAT_INFO", "REMOTE_ADDRESS, LOCAL_PORT"),
    ("QSYS2", "NETSTAT_INFO_BY_PORT", "NETSTAT_INFO", "LOCAL_PORT, TCP_STATE"),
    ("QSYS2", "NETSTAT_INFO_BY_STATE", "NETSTAT_INFO", "TCP_STATE"),
    ("QSYS2", "NETSTAT_JOB_INFO_BY_PEER", "NETSTAT_JOB_INFO", "REMOTE_ADDRESS, LOCAL_PORT"),
    ("QSYS2", "GROUP_PROFILE_ENTRIES_BY_GROUP", "GROUP_PROFILE_ENTRIES", "GROUP_PROFILE_NAME"),
    ("QSYS2", "OUTPUT_QUEUE_INFO_BY_NAME", "OUTPUT_QUEUE_INFO", "OUTPUT_QUEUE_LIBRARY_NAME, OUTPUT_QUEUE_NAME"),
    (
        "QSYS2",
        "OBJECT_PRIVILEGES_BY_OBJECT",
        "OBJECT_PRIVILEGES",
        "SYSTEM_OBJECT_SCHEMA, SYSTEM_OBJECT_NAME, OBJECT_TYPE, USER_NAME",
    ),
    *(
        ("SYSTOOLS", f"AUDIT_JOURNAL_{kind}_BY_TIME", f"AUDIT_JOURNAL_{kind}", "ENTRY_TIMESTAMP, SEQUENCE_NUMBER")
        for kind in JOURNAL_COLUMNS
    ),
)


def member_table(member: str) -> str:
    """The SQLite table holding one member of QUSRSYS/QATMADRLST."""
    return f"QATMADRLST_{member}"


def create_statements() -> list[str]:
    statements = [f"CREATE TABLE IF NOT EXISTS QSYS2.{name} ({cols})" for name, cols in QSYS2_TABLES.items()]
    statements += [f"CREATE VIEW IF NOT EXISTS QSYS2.{name} AS {query}" for name, query in QSYS2_VIEWS.items()]
    statements += [f"CREATE TABLE IF NOT EXISTS SYSIBMADM.{name} ({cols})" for name, cols in SYSIBMADM_TABLES.items()]
    statements += [f"CREATE TABLE IF NOT EXISTS SYSTOOLS.{name} ({cols})" for name, cols in SYSTOOLS_TABLES.items()]
    statements += [
        f"CREATE TABLE IF NOT EXISTS WARDEN_DEMO.{name} ({cols})" for name, cols in WARDEN_DEMO_TABLES.items()
    ]
    statements += [
        f"CREATE TABLE IF NOT EXISTS QUSRSYS.{member_table(m)} (ADRLST CHAR(92) NOT NULL)"
        for m in SMTP_LIST_MEMBERS.values()
    ]
    statements += [
        f"CREATE INDEX IF NOT EXISTS {library}.{index} ON {table} ({columns})"
        for library, index, table, columns in INDEXES
    ]
    return statements
