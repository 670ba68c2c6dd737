"""The embedded demo IBM i: its seed story, its QCMDEXC, its latency and its traffic."""

from __future__ import annotations

import ipaddress
import sqlite3
import threading
import time
from dataclasses import replace

import pytest

from bot.config import DemoSettings
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.cl import (
    AddSmtpListEntry,
    ChangeSmtpRelay,
    EndTcpConnection,
    EndTcpServer,
    RemoveSmtpListEntry,
    StartTcpServer,
)
from bot.ibmi.drivers import demo
from bot.ibmi.drivers.demo import DemoError, demo_relay_policy
from bot.ibmi.errors import CLCommandError, DeadlineExceededError, IbmiError, NotAuthorizedError, QueryTimeoutError
from bot.ibmi_settings import connection_settings, open_system
from tests.conftest import demo_settings


def established(connection: SystemConnection) -> dict[str, list]:
    result: dict[str, list] = {}
    for row in sql.read_tcp_connections(connection):
        if row.is_established:
            result.setdefault(str(row.remote_ip), []).append(row)
    return result


def test_seed_tells_the_articles_story(demo_connection):
    rows = established(demo_connection)
    assert [r.local_port for r in rows["210.107.73.73"]] == [23]  # unfamiliar public address on telnet
    assert [r.local_port for r in rows["13.64.12.40"]] == [8471]  # cloud address on the database server
    assert sql.read_smtp_listening(demo_connection) is True
    assert [job.job_name.split("/")[-1] for job in sql.read_smtp_jobs(demo_connection)] == ["QTSMTPSRVD", "QTSMTPCLTD"]
    status = sql.read_smtp_status(demo_connection)
    assert status.listening_on_25 and status.server_jobs
    assert status.relay.value is None and status.relay.source == "unknown"  # never guessed
    lists = sql.read_smtp_lists(demo_connection)
    assert lists.readable
    assert ("ACCEPT", "0.0.0.0", "0.0.0.0") in {(e.member, e.address, e.mask) for e in lists.entries}
    holders = {p.name: p for p in sql.read_special_authority_holders(demo_connection, "*SPLCTL")}
    assert holders["JSMITH"].inherited_authorities == {"*SPLCTL": ("OPSGRP",)}
    assert holders["MLOPEZ"].inherited_authorities == {"*SPLCTL": ("OPSGRP",)}  # supplemental group
    assert "*SPLCTL" in holders["PRTADMIN"].special_authorities
    assert "ETLUSER" not in holders
    queues = {q.qualified_name: q for q in sql.read_output_queues(demo_connection)}
    payroll = queues["PAYLIB/PAYROLL"]
    assert (payroll.operator_controlled, payroll.display_any_file, payroll.public_authority) == ("*YES", "*YES", "*USE")


def test_relay_policy_is_in_demo_state_only(demo_system):
    demo.connect(connection_settings(demo_system)).close()
    assert demo_relay_policy(demo_system.demo.path) == "*ALL"


def test_endtcpcnn_removes_the_connection_and_its_job(demo_connection):
    command = EndTcpConnection.build(
        local_address="10.1.1.5", local_port=23, remote_address="210.107.73.73", remote_port=40411
    )
    demo_connection.run_cl(command)
    assert "210.107.73.73" not in established(demo_connection)
    jobs = sql.read_connection_jobs(demo_connection)
    assert not [j for j in jobs if j.remote_address == "210.107.73.73"]
    with pytest.raises(CLCommandError) as failure:
        demo_connection.run_cl(command)  # gone: fails like IBM i, with a message id
    assert failure.value.message_id == "CPF9899"


def test_endtcpcnn_matches_mapped_addresses_by_value(demo_connection):
    command = EndTcpConnection.build(
        local_address="::ffff:10.1.1.5", local_port=446, remote_address="::ffff:10.1.20.58", remote_port=50990
    )
    demo_connection.run_cl(command)
    assert "10.1.20.58" not in established(demo_connection)


def test_smtp_list_entries_are_added_and_removed(demo_connection):
    entry = AddSmtpListEntry.build(list_type="*ACCEPT", address="10.9.0.0", mask="255.255.0.0")
    demo_connection.run_cl(entry)
    found = {(e.address, e.mask) for e in sql.read_smtp_lists(demo_connection).entries if e.member == "ACCEPT"}
    assert ("10.9.0.0", "255.255.0.0") in found
    with pytest.raises(CLCommandError):
        demo_connection.run_cl(entry)  # a duplicate is refused
    demo_connection.run_cl(RemoveSmtpListEntry.build(list_type="*ACCEPT", address="0.0.0.0", mask="0.0.0.0"))
    found = {(e.address, e.mask) for e in sql.read_smtp_lists(demo_connection).entries}
    assert ("0.0.0.0", "0.0.0.0") not in found
    members = {row["SYSTEM_TABLE_MEMBER"]: row["NUMBER_ROWS"] for row in demo_connection.query(sql.SMTP_LIST_MEMBERS)}
    assert members["ACCEPT"] == 2


def test_chgsmtpa_changes_the_relay_policy(demo_system, demo_connection):
    demo_connection.run_cl(ChangeSmtpRelay.build("list"))
    assert demo_relay_policy(demo_system.demo.path) == "*LIST"


def test_endtcpsvr_stops_the_smtp_jobs_and_strtcpsvr_starts_new_ones(demo_connection):
    before = {job.job_name for job in sql.read_smtp_jobs(demo_connection)}
    assert before
    demo_connection.run_cl(EndTcpServer.build())
    assert sql.read_smtp_jobs(demo_connection) == []
    demo_connection.run_cl(StartTcpServer.build())
    after = {job.job_name for job in sql.read_smtp_jobs(demo_connection)}
    assert len(after) == len(before) and not after & before  # new jobs, new job numbers
    demo_connection.run_cl(StartTcpServer.build())  # already running: left as it is
    assert {job.job_name for job in sql.read_smtp_jobs(demo_connection)} == after


def test_a_demo_folder_from_before_job_start_times_gets_them(tmp_path):
    folder = tmp_path / "demo"
    demo.ensure_demo_system(folder)
    with sqlite3.connect(folder / "WARDEN_DEMO.sqlite") as old:
        old.execute("ALTER TABLE ACTIVE_JOBS DROP COLUMN JOB_ACTIVE_UTC")
    demo.ensure_demo_system(folder)
    connection = open_system(demo_settings(folder), {})
    try:
        jobs = sql.read_smtp_jobs(connection)
    finally:
        connection.close()
    assert jobs and all(job.started_at is not None for job in jobs)


@pytest.mark.parametrize(
    "text",
    [
        "DLTLIB QGPL",
        "ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('10.1.1.5') LCLPORT(23) RMTINTNETA('210.107.73.73') RMTPORT(40411) "
        "\nDLTLIB QGPL",
        "CHGSMTPA ALWRLY(*ALL) + ",
        "",
    ],
)
def test_qcmdexc_rejects_what_ibm_i_would(demo_system, text):
    connection = demo.connect(connection_settings(demo_system))
    cursor = connection.cursor()
    with pytest.raises(DemoError) as failure:
        cursor.execute(sql.RUN_CL_COMMAND, (text,))
    assert failure.value.sqlstate == "38501"
    assert "SQL0443" in failure.value.args[1] and "CPF0006" in failure.value.args[1]
    assert "210.107.73.73" in {str(r.remote_ip) for r in sql.read_tcp_connections(open_system(demo_system))}
    connection.close()


def test_unknown_column_fails_like_db2(demo_connection):
    with pytest.raises(Exception, match="SQL0206"):
        demo_connection.query("SELECT REMOTE_ADDRES FROM QSYS2.NETSTAT_INFO")


def test_a_hung_demo_statement_blocks_until_its_connection_is_closed(tmp_path):
    connection = demo.connect(connection_settings(demo_settings(tmp_path / "hung", hang=True)))
    finished = threading.Event()
    failures: list[BaseException] = []

    def execute() -> None:
        try:
            connection.cursor().execute(sql.SMTP_LISTENERS)
        except DemoError as error:
            failures.append(error)
        finally:
            finished.set()

    threading.Thread(target=execute, daemon=True).start()
    assert not finished.wait(0.2)  # no query timeout, however short, ends it: the real driver does not either
    connection.close()
    assert finished.wait(5)
    assert [f.sqlstate for f in failures if isinstance(f, DemoError)] == ["08S01"]


def test_a_hung_demo_system_times_out_at_the_deadline_and_the_connection_is_replaced(tmp_path):
    settings = demo_settings(tmp_path / "hung", hang=True, statement_deadline=0.5)
    connection = open_system(settings)
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError, match=r"DEMO: 'SELECT .*' did not answer within"):
        connection.query(sql.SMTP_LISTENERS)
    assert time.monotonic() - started < 0.5 + 10 + 3  # the deadline plus the login timeout of a first connect
    assert connection._dbapi is None  # abandoned: the next call opens a new connection
    assert connection.exclusive().acquire(blocking=False)  # the system's lock is free again
    connection.exclusive().release()


@pytest.mark.parametrize(
    ("failure", "raised", "text"),
    [
        ("SQL0901", IbmiError, "SQL system error"),
        ("SQL0666", QueryTimeoutError, "exceeds specified time limit"),
        ("SQL0551", NotAuthorizedError, "Not authorized to object"),
    ],
)
def test_fail_statements_fails_every_statement_and_command_as_db2_would(tmp_path, failure, raised, text):
    settings = demo_settings(tmp_path / "sick")
    sick = replace(settings, demo=replace(settings.demo or DemoSettings(), fail_statements=failure))
    connection = open_system(sick)
    for read in (sql.read_tcp_connections, sql.read_smtp_jobs, sql.read_output_queues):
        with pytest.raises(raised, match=f"{failure}.*{text}") as failed:
            read(connection)
        assert not isinstance(failed.value, DeadlineExceededError)  # it answers at once, with an error
    with pytest.raises(IbmiError):  # a command fails too (a timed-out one is reported as "unknown" whether it ran)
        connection.run_cl(
            EndTcpConnection.build(
                local_address="10.1.1.5", local_port=23, remote_address="210.107.73.73", remote_port=40411
            )
        )
    healthy = open_system(settings)
    assert established(healthy)["210.107.73.73"]  # nothing was changed: the same folder answers without it


def test_latency_delays_each_statement(tmp_path):
    connection = open_system(demo_settings(tmp_path / "slow", latency=0.3))
    connection.query(sql.SMTP_LISTENERS)  # the first call also creates and seeds the system
    started = time.monotonic()
    connection.query(sql.SMTP_LISTENERS)
    assert time.monotonic() - started >= 0.3


def test_traffic_is_deterministic_and_changes_connections(tmp_path, monkeypatch):
    def remotes_after(folder, steps: int) -> set[str]:
        settings = demo_settings(folder, traffic=True, traffic_interval=10)
        connection = open_system(settings)
        connection.query(sql.SMTP_LISTENERS)
        real_time = time.time
        monkeypatch.setattr(time, "time", lambda: real_time() + 10 * steps + 1)
        remotes = {str(r.remote_ip) for r in sql.read_tcp_connections(connection) if r.is_established}
        monkeypatch.setattr(time, "time", real_time)
        connection.close()
        return remotes

    first = remotes_after(tmp_path / "a", 7)
    second = remotes_after(tmp_path / "b", 7)
    assert first == second
    seeded = remotes_after(tmp_path / "c", 0)
    assert first != seeded


def test_demo_files_are_one_sqlite_file_per_library(demo_connection, demo_system):
    sql.read_smtp_listening(demo_connection)
    names = sorted(p.name for p in demo_system.demo.path.iterdir() if p.suffix == ".sqlite")
    assert names == ["QSYS2.sqlite", "QUSRSYS.sqlite", "SYSIBMADM.sqlite", "SYSTOOLS.sqlite", "WARDEN_DEMO.sqlite"]


def test_addresses_in_seed_are_valid():
    from bot.ibmi.drivers.demo import seed

    for row in seed.ESTABLISHED:
        ipaddress.ip_address(row[0])


def _demo_db(settings):
    import sqlite3

    db = sqlite3.connect(settings.demo.path / "QSYS2.sqlite", isolation_level=None)
    return db


def test_no_listening_socket_at_all_means_smtp_state_unknown(demo_system, demo_connection):
    sql.read_smtp_listening(demo_connection)  # creates the system
    db = _demo_db(demo_system)
    db.execute("DELETE FROM NETSTAT_INFO WHERE LOCAL_PORT = 25")
    assert sql.read_smtp_listening(demo_connection) is False
    db.execute("DELETE FROM NETSTAT_INFO WHERE TCP_STATE = 'LISTEN'")
    assert sql.read_smtp_listening(demo_connection) is None
    assert sql.read_smtp_status(demo_connection).listening_on_25 is None


def test_smtp_list_records_without_addresses_are_not_an_empty_list(demo_system, demo_connection):
    import sqlite3

    sql.read_smtp_listening(demo_connection)
    db = sqlite3.connect(demo_system.demo.path / "QUSRSYS.sqlite", isolation_level=None)
    db.execute("UPDATE QATMADRLST_ACCEPT SET ADRLST = 'something else entirely'")
    db.execute("UPDATE QATMADRLST_REJECT SET ADRLST = 'x'")
    reading = sql.read_smtp_lists(demo_connection)
    assert not reading.readable and "layout not recognised" in reading.problem
    db.execute("DELETE FROM QATMADRLST_ACCEPT")
    db.execute("DELETE FROM QATMADRLST_REJECT")
    assert sql.read_smtp_lists(demo_connection) == sql.SmtpListReading(readable=True, members=("ACCEPT", "REJECT"))
