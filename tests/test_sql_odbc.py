"""The statements in bot/ibmi/sql.py run through real pyodbc, unixODBC and the SQLite ODBC driver
against tables carrying IBM's column names, so a misspelt column fails here.

Statements SQLite cannot run (sql.IBM_ONLY_STATEMENTS) are covered by the demo's interpreter tests.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.ibmi import audit_journal, sql
from bot.ibmi.access import ConnectionSettings, SystemConnection
from bot.ibmi.drivers import odbc
from bot.ibmi.drivers.demo import ensure_demo_system, schema
from bot.ibmi.errors import IbmiError
from tests.conftest import SHARED

pytestmark = pytest.mark.odbc
SQLITE_DRIVER = "SQLite3"


def _driver_problem() -> str | None:
    try:
        import pyodbc
    except ImportError as error:
        return f"pyodbc cannot load: {error}"
    if SQLITE_DRIVER not in pyodbc.drivers():
        return f"the {SQLITE_DRIVER} ODBC driver is not registered (Debian package libsqliteodbc)"
    return None


@pytest.fixture(scope="module")
def odbc_system(tmp_path_factory) -> SystemConnection:
    problem = _driver_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"ODBC integration tests cannot run in CI: {problem}")
        pytest.skip(problem)
    import pyodbc

    folder = tmp_path_factory.mktemp("odbc") / "demo-ibmi"
    ensure_demo_system(folder)
    main = folder.parent / "main.sqlite"

    class SqliteOdbc:
        """pyodbc to the SQLite ODBC driver, with the demo's library files attached under their names."""

        classify_error = staticmethod(odbc.classify_error)

        def connect(self, settings: ConnectionSettings):
            connection = pyodbc.connect(f"DRIVER={{{SQLITE_DRIVER}}};Database={main}", autocommit=True)
            for library in schema.LIBRARIES:
                connection.execute(f"ATTACH DATABASE '{folder / (library + '.sqlite')}' AS {library}")
            return connection

    connection = SystemConnection(ConnectionSettings(name="ODBC", driver="odbc"), SqliteOdbc())
    yield connection
    connection.close()


def test_connections_through_pyodbc(odbc_system):
    rows = sql.read_tcp_connections(odbc_system)
    telnet = [r for r in rows if r.remote_address == "210.107.73.73"]
    assert telnet and telnet[0].local_port == 23 and telnet[0].tcp_state == "ESTABLISHED"
    assert any(r.is_listening and r.local_port == 25 for r in rows)
    assert all(r.protocol == "TCP" for r in rows)


def test_connection_jobs_through_pyodbc(odbc_system):
    jobs = sql.read_connection_jobs(odbc_system)
    assert any(j.authorization_name == "QSECOFR" and j.local_port == 23 for j in jobs)
    assert all(j.remote_port != 0 for j in jobs)


def test_smtp_listening_through_pyodbc(odbc_system):
    assert sql.read_smtp_listening(odbc_system) is True


def test_smtp_list_catalog_through_pyodbc(odbc_system):
    columns = odbc_system.query(sql.SMTP_LIST_COLUMNS)
    assert [c["COLUMN_NAME"] for c in columns] == ["ADRLST"]
    members = {row["SYSTEM_TABLE_MEMBER"] for row in odbc_system.query(sql.SMTP_LIST_MEMBERS)}
    assert members == {"ACCEPT", "REJECT"}


def test_special_authority_holders_through_pyodbc(odbc_system):
    holders = {p.name: p for p in sql.read_special_authority_holders(odbc_system, "*SPLCTL")}
    assert set(holders) == {"JSMITH", "MLOPEZ", "OLDADMIN", "OPSGRP", "PRTADMIN", "QSECOFR"}
    assert holders["JSMITH"].holds("*SPLCTL") and not holders["JSMITH"].special_authorities


def test_output_queues_through_pyodbc(odbc_system):
    queues = {q.qualified_name: q for q in sql.read_output_queues(odbc_system)}
    assert queues["PAYLIB/PAYROLL"].public_authority == "*USE"
    assert queues["HRLIB/HRREPORTS"].public_authority == "*EXCLUDE"
    assert queues["PAYLIB/PAYROLL"].number_of_files == 37


def test_a_misspelt_column_fails_through_pyodbc(odbc_system):
    with pytest.raises(IbmiError, match="no such column"):
        odbc_system.query(sql.NETSTAT_TCP_CONNECTIONS.replace("IDLE_TIME", "IDLE_TIMES"))


def _statements() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(sql).items()
        if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("SELECT", "CALL"))
    }


_SQL_WORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "IN",
    "NOT",
    "LIKE",
    "ORDER",
    "BY",
    "AS",
    "TABLE",
    "CALL",
    "QSYS2",
    "QCMDEXC",
    "X",
    "TCP",
    "LISTEN",
    "QTSMTP",
    "QUSRSYS",
    "QATMADRLST",
    "OUTQ",
    "PUBLIC",
    "TIMEZONE",  # CURRENT TIMEZONE, Db2's special register
}
_OUR_OWN_NAMES = {"QTEMP", "WARDEN_SMTPLST", "LISTENING", "JOB_ACTIVE_UTC"}  # an alias in our QTEMP, result columns
# Named on IBM's JOBLOG_INFO page, cited beside sql.JOB_LOG_MESSAGES, and not yet in the shared reference.
_JOBLOG_INFO_NAMES = {"JOBLOG_INFO", "MESSAGE_ID", "MESSAGE_TYPE", "MESSAGE_TEXT", "MESSAGE_TIMESTAMP"}
# Named on IBM's GROUP_PTF_INFO page, cited beside sql.INSTALLED_PTF_GROUPS; the shared reference names the view
# but not its columns.
_GROUP_PTF_INFO_NAMES = {"PTF_GROUP_NAME", "PTF_GROUP_LEVEL", "PTF_GROUP_STATUS", "INSTALLED"}
# Named on IBM's ACTIVE_JOB_INFO page (returned with DETAILED_INFO => 'WORK'), cited beside sql.SMTP_JOBS; the
# shared reference names the table function but not this column.
_ACTIVE_JOB_INFO_NAMES = {"JOB_ACTIVE_TIME"}
_OUR_OWN_NAMES |= _JOBLOG_INFO_NAMES | _GROUP_PTF_INFO_NAMES | _ACTIVE_JOB_INFO_NAMES | {"ORDINAL_POSITION"}


def test_every_identifier_in_the_sql_is_named_in_the_ibm_reference():
    reference_file = SHARED / "reference" / "ibmi.md"
    if not reference_file.exists():
        pytest.skip("the shared IBM i reference is not beside the checkout")
    reference = reference_file.read_text()
    for name, statement in _statements().items():
        for word in set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", statement)) - _SQL_WORDS - _OUR_OWN_NAMES:
            assert word in reference, f"{name} uses {word}, which the IBM i reference does not name"


def test_every_statement_runs_on_sqlite_or_is_declared_ibm_only(odbc_system):
    ibm_only = {" ".join(s.split()) for s in sql.IBM_ONLY_STATEMENTS.values()}
    parameters = {
        "SPECIAL_AUTHORITY_USERS": ("%*SPLCTL%", "%*SPLCTL%"),
        "SPECIAL_AUTHORITY_GROUP_LINKS": ("%*SPLCTL%",),
        "OUTPUT_QUEUE_PUBLIC_AUTHORITY": ("PAYLIB",),
        "USER_SPECIAL_AUTHORITIES": ("WARDEN",),
    }
    for name, statement in _statements().items():
        if " ".join(statement.split()) in ibm_only or name == "SMTP_LIST_MEMBER_ROWS":
            continue
        odbc_system.query(statement, parameters.get(name, ()))


def test_audit_journal_statements_run_on_sqlite_or_are_declared_ibm_only(odbc_system):
    ibm_only = {" ".join(s.split()) for s in sql.IBM_ONLY_STATEMENTS.values()}
    parameters = {"RECEIVER_EXISTS": ("QSYS", "QAUDRCV0042")}
    for name, statement in vars(audit_journal).items():
        if name.isupper() and isinstance(statement, str) and statement.lstrip().startswith("SELECT"):
            if " ".join(statement.split()) not in ibm_only:
                odbc_system.query(statement, parameters.get(name, ()))
    assert audit_journal.check_receiver(odbc_system, "QSYS/QAUDRCV0041").attached == "QSYS/QAUDRCV0042"
    assert audit_journal.read_audit_values(odbc_system)["QAUDCTL"] == ("*AUDLVL", "*OBJAUD")


def test_demo_interprets_exactly_the_ibm_only_statements(demo_connection):
    assert sql.read_smtp_jobs(demo_connection)
    assert sql.read_smtp_lists(demo_connection).readable
    assert audit_journal.read_system_time(demo_connection)
    since = "2000-01-01 00:00:00"
    assert all(audit_journal.read_entries(demo_connection, kind, since, 100) for kind in audit_journal.ENTRY_TYPES)


def test_shared_reference_location_is_beside_the_repository():
    assert Path(SHARED).name == "shared"
