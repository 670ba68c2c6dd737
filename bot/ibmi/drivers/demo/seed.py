"""The demo IBM i's starting state: the story of the Kisco security-tips articles.

Trusted office (10.0.0.0/8) and VPN (192.168.0.0/16) users; an unfamiliar public address signed on
over plaintext telnet; a cloud-hosted address on the database host server; SMTP listening with
relay open to everyone and an *ACCEPT entry with mask 0.0.0.0; several *SPLCTL holders, one
through a group profile; a payroll output queue with OPRCTL(*YES) and DSPDTA(*YES).
"""

from __future__ import annotations

import zlib

HOST = "10.1.1.5"
# The profile the bot signs on to the demo system with: its service profile in USERS below.
BOT_PROFILE = "WARDEN"

# (remote address, remote port, local port, local port name, idle seconds, sent, received, user, job)
ESTABLISHED = [
    ("10.1.20.31", 50112, 992, "telnet-ssl", 12.5, 184_220, 20_114, "JSMITH", "QPADEV0004"),
    ("10.1.20.44", 50377, 23, "telnet", 48.0, 96_004, 8_310, "MLOPEZ", "QPADEV0007"),
    ("192.168.50.12", 61022, 9471, "as-database-s", 3.2, 2_811_004, 120_776, "ETLUSER", "QZDASSINIT"),
    ("192.168.50.19", 61544, 8476, "as-signon", 30.0, 2_004, 1_380, "ETLUSER", "QZSOSIGN"),
    ("210.107.73.73", 40411, 23, "telnet", 4.1, 55_310, 3_972, "QSECOFR", "QPADEV0011"),
    ("13.64.12.40", 52910, 8471, "as-database", 0.8, 8_420_551, 402_118, "APIUSER", "QZDASOINIT"),
    ("::ffff:10.1.20.58", 50990, 446, "drda", 210.0, 10_220, 9_004, "BATCHSYNC", "QRWTSRVR"),
    ("127.0.0.1", 49001, 8471, "as-database", 1.0, 1_000, 1_000, "QUSER", "QZDASOINIT"),
]

LISTENING = [
    (21, "ftp-control"),
    (22, "ssh"),
    (23, "telnet"),
    (25, "smtp"),
    (80, "www-http"),
    (446, "drda"),
    (449, "as-svrmap"),
    (992, "telnet-ssl"),
    (2001, "as-admin"),
    (8470, "as-central"),
    (8471, "as-database"),
    (8472, "as-dtaq"),
    (8473, "as-file"),
    (8474, "as-netprt"),
    (8475, "as-rmtcmd"),
    (8476, "as-signon"),
    (9471, "as-database-s"),
]

# Addresses that come and go when simulated traffic is on: (address, local port, port name, user, job)
TRAFFIC_VISITORS = [
    ("10.1.20.77", 992, "telnet-ssl", "AKUMAR", "QPADEV0015"),
    ("192.168.50.33", 8471, "as-database", "REPORTS", "QZDASOINIT"),
    ("196.11.240.215", 21, "ftp-control", "FTPGUEST", "QTFTP01004"),
    ("62.239.237.1", 8476, "as-signon", "QUSER", "QZSOSIGN"),
    ("200.57.141.161", 23, "telnet", "QSYSOPR", "QPADEV0020"),
    ("2001:4860:4860::8888", 8471, "as-database", "APIUSER", "QZDASOINIT"),
]


def job_number(address: str, port: int) -> str:
    """The six-digit number of the server job serving a connection (the same in NETSTAT_JOB_INFO and the journal)."""
    return f"{100_000 + zlib.crc32(f'{address}:{port}'.encode()) % 900_000:06d}"


# (name, status, special authorities, group, supplemental groups, text)
USERS = [
    (
        "QSECOFR",
        "*ENABLED",
        "*ALLOBJ *AUDIT *IOSYSCFG *JOBCTL *SAVSYS *SECADM *SERVICE *SPLCTL",
        None,
        "",
        "Security officer",
    ),
    ("QSYSOPR", "*ENABLED", "*JOBCTL *SAVSYS", None, "", "System operator"),
    ("OPSGRP", "*DISABLED", "*JOBCTL *SPLCTL", None, "", "Operations group profile"),
    ("PRTADMIN", "*ENABLED", "*SPLCTL", None, "", "Print administrator"),
    ("JSMITH", "*ENABLED", "", "OPSGRP", "", "Jane Smith, operations"),
    ("MLOPEZ", "*ENABLED", "", "USERS", "OPSGRP", "Maria Lopez, help desk"),
    ("OLDADMIN", "*DISABLED", "*ALLOBJ *SPLCTL", None, "", "Former administrator"),
    ("ETLUSER", "*ENABLED", "", "USERS", "", "Nightly ETL"),
    ("APIUSER", "*ENABLED", "", "USERS", "", "Web API service"),
    ("USERS", "*DISABLED", "", None, "", "All staff group"),
    (BOT_PROFILE, "*ENABLED", "*IOSYSCFG", None, "", "ibmi-warden service profile"),
]

# (library, name, files, DSPDTA, OPRCTL, AUTCHK, *PUBLIC authority, owner, text)
OUTPUT_QUEUES = [
    ("PAYLIB", "PAYROLL", 37, "*YES", "*YES", "*OWNER", "*USE", "PAYADMIN", "Payroll cheques and registers"),
    ("QGPL", "QPRINT", 214, "*NO", "*YES", "*OWNER", "*USE", "QSYS", "Default printer output"),
    ("HRLIB", "HRREPORTS", 12, "*OWNER", "*NO", "*OWNER", "*EXCLUDE", "HRADMIN", "HR reports"),
    ("QGPL", "SHARED", 58, "*YES", "*NO", "*DTAAUT", "*CHANGE", "QSYS", "Shared department output"),
]

SMTP_ACCEPT = [("0.0.0.0", "0.0.0.0"), ("10.1.1.0", "255.255.255.0")]
SMTP_REJECT = [("198.51.100.0", "255.255.255.0")]
SMTP_RELAY = "*ALL"
SMTP_JOBS = [("012301/QTCP/QTSMTPSRVD", "SELW", "QSYSWRK"), ("012302/QTCP/QTSMTPCLTD", "DEQW", "QSYSWRK")]

# The release the demo reports unless [systems.demo] release says otherwise, and the installed Db2 for i PTF
# group of each release it can report (IBM's group names, e.g. "IBM i 7.5 SF99950"; the levels are made up).
DEFAULT_RELEASE = "7.5"
DB2_PTF_GROUPS = {"7.3": ("SF99703", 26), "7.4": ("SF99704", 28), "7.5": ("SF99950", 6), "7.6": ("SF99960", 2)}
RELEASES = tuple(DB2_PTF_GROUPS)

# The audit system values (QSYS2.SYSTEM_VALUE_INFO): PW and AF entries need *AUTFAIL, CP entries *SECURITY or
# *SECCFG, all under QAUDCTL *AUDLVL; CD entries come from command auditing (*OBJAUD, CHGUSRAUD AUDLVL(*CMD)).
AUDIT_SYSTEM_VALUES = {
    "QAUDCTL": "*AUDLVL *OBJAUD",
    "QAUDLVL": "*AUTFAIL *CREATE *DELETE *SAVRST *SECURITY *SECCFG *SERVICE *SYSMGT",
    "QAUDLVL2": "*NONE",
}
# Profiles whose commands are audited (CHGUSRAUD AUDLVL(*CMD)): their commands leave CD entries.
COMMAND_AUDITED = ("QSECOFR", BOT_PROFILE)
