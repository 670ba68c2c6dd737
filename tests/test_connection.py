"""SystemConnection: reconnects for reads, never re-sends CL, turns driver errors into clear ones."""

from __future__ import annotations

import builtins
import sqlite3
import threading
from dataclasses import replace
from typing import Any

import pytest

from bot.config import ConfigError, DemoSettings, SystemSettings
from bot.ibmi import sql
from bot.ibmi.access import DEADLINE_MARGIN, ConnectionSettings, DemoOptions, SystemConnection, cl_error
from bot.ibmi.cl import ChangeSmtpRelay
from bot.ibmi.drivers import DRIVERS, demo, driver_for, mapepire, odbc, system_connection
from bot.ibmi.drivers.odbc import classify_error, connection_string, load_pyodbc
from bot.ibmi.errors import (
    CLCommandError,
    ConnectionFailedError,
    DeadlineExceededError,
    DriverMissingError,
    NotAuthorizedError,
    QueryTimeoutError,
)
from bot.ibmi_settings import connection_settings

ODBC = SystemSettings(
    name="PROD",
    connection="DRIVER={IBM i Access ODBC Driver};SYSTEM=ibmi.example.com;SSL=1",
    user_env="PROD_USER",
    password_env="PROD_PASSWORD",
)
PROD = ConnectionSettings(name="PROD", driver="odbc", connection_string=ODBC.connection)


class DriverError(Exception):
    """Shaped like pyodbc.Error: args = (SQLSTATE, message)."""


class FakeCursor:
    def __init__(self, owner: FakeConnection):
        self.owner = owner
        self.description: Any = None
        self.unread = [(1,)]

    def execute(self, statement: str, params: tuple = ()) -> None:
        self.owner.statements.append((statement, params))
        if statement == sql.JOB_LOG_POSITION and not self.owner.job_log_position_fails:
            self.description = (("ORDINAL_POSITION",),)  # read before every command; answers at once
            return
        if self.owner.failures:
            raise self.owner.failures.pop(0)
        self.description = (("ONE",),)

    def fetchall(self) -> list[tuple]:
        return self.fetchmany(len(self.unread))

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows, self.unread = self.unread[:size], self.unread[size:]
        return rows

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, failures: list[Exception]):
        self.failures = failures
        self.statements: list[tuple[str, tuple]] = []
        self.closed = False
        self.job_log_position_fails = False  # when True, the position read takes the next failure

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.closed = True


class FakeDriver:
    classify_error = staticmethod(odbc.classify_error)

    def __init__(self, *failure_lists: list[Exception]):
        self.connections = [FakeConnection(list(f)) for f in failure_lists]
        self.opened = 0

    def connect(self, settings: ConnectionSettings) -> FakeConnection:
        connection = self.connections[self.opened]
        self.opened += 1
        return connection


def test_a_dropped_connection_is_reopened_once_for_a_read():
    driver = FakeDriver([DriverError("08S01", "[IBM] CWBCO1047 - The IBM i server application disconnected")], [])
    connection = SystemConnection(PROD, driver)
    assert connection.query("SELECT 1") == [{"ONE": 1}]
    assert driver.opened == 2 and driver.connections[0].closed


def test_a_read_that_keeps_failing_reports_the_connection_failure():
    lost = DriverError("08S01", "Communication link failure")
    driver = FakeDriver([lost], [lost])
    with pytest.raises(ConnectionFailedError, match="Communication link failure"):
        SystemConnection(PROD, driver).query("SELECT 1")


def test_cl_is_never_resent_after_a_dropped_connection():
    driver = FakeDriver([DriverError("08S01", "Communication link failure")], [])
    connection = SystemConnection(PROD, driver)
    with pytest.raises(ConnectionFailedError, match="unknown"):
        connection.run_cl(ChangeSmtpRelay.build("*LIST"))
    assert driver.opened == 1
    assert driver.connections[0].statements == [
        (sql.JOB_LOG_POSITION, ()),
        (sql.RUN_CL_COMMAND, ("QSYS/CHGSMTPA ALWRLY(*LIST)",)),
    ]


def test_cl_failure_carries_the_message_id():
    message = (
        "[IBM][System i Access ODBC Driver][DB2 for i5/OS]SQL0443 - Trigger program or external routine "
        "detected an error. The associated text is CPF9801. Object QATMSMTP in library QUSRSYS not found."
    )
    driver = FakeDriver([DriverError("38501", message)])
    with pytest.raises(CLCommandError) as failure:
        SystemConnection(PROD, driver).run_cl(ChangeSmtpRelay.build("none"))
    assert failure.value.message_id == "CPF9801"
    assert failure.value.text.startswith("Object QATMSMTP")
    assert failure.value.command == "QSYS/CHGSMTPA ALWRLY(*NONE)"


def test_words_that_look_hexadecimal_are_not_message_ids():
    error = cl_error("CHGSMTPA ALWRLY(*NONE)", "Cannot PROCEED: the request did not SUCCEED")
    assert error.message_id is None


def test_cl_failure_without_a_message_id_keeps_the_driver_text():
    error = cl_error("CHGSMTPA ALWRLY(*NONE)", "General error")
    assert (error.message_id, error.text) == (None, "General error")


@pytest.mark.parametrize(
    ("sqlstate", "message", "kind"),
    [
        ("08S01", "Communication link failure", "connection"),
        ("HY000", "[IBM] CWBCO1054 - A user-specified time-out occurred", "connection"),
        ("HYT00", "Timeout expired", "timeout"),
        ("42501", "[SQL0551] Not authorized to object NETSTAT_INFO in QSYS2 type *FILE.", "authority"),
        ("42703", "[SQL0206] Column or global variable X not found.", "missing"),
        ("HY000", "General error", "other"),
    ],
)
def test_driver_errors_are_classified(sqlstate, message, kind):
    assert classify_error(DriverError(sqlstate, message)) == kind


def test_timeouts_and_authority_errors_become_their_own_exceptions():
    driver = FakeDriver([DriverError("HYT00", "Timeout expired"), DriverError("42501", "[SQL0551] Not authorized")])
    connection = SystemConnection(PROD, driver)
    with pytest.raises(QueryTimeoutError):
        connection.query("SELECT 1")
    with pytest.raises(NotAuthorizedError):
        connection.query("SELECT 1")


def test_failure_to_connect_is_a_connection_failure():
    class Refusing(FakeDriver):
        def connect(self, settings: ConnectionSettings) -> FakeConnection:
            raise sqlite3.OperationalError("unable to open database file")

    with pytest.raises(ConnectionFailedError, match="connecting failed"):
        SystemConnection(PROD, Refusing()).query("SELECT 1")


def test_credentials_come_from_the_named_environment_variables():
    text = connection_string(connection_settings(ODBC, {"PROD_USER": "WARDEN", "PROD_PASSWORD": "s3;cret"}))
    assert text == ("DRIVER={IBM i Access ODBC Driver};SYSTEM=ibmi.example.com;SSL=1;UID=WARDEN;PWD={s3;cret};")


def test_missing_credentials_name_the_variable_not_a_value():
    with pytest.raises(ConfigError, match="PROD_PASSWORD"):
        connection_settings(ODBC, {"PROD_USER": "WARDEN"})


def test_without_pyodbc_the_error_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_pyodbc(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyodbc":
            raise ImportError("libodbc.so.2: cannot open shared object file: No such file or directory")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "pyodbc", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pyodbc)
    with pytest.raises(DriverMissingError, match="unixODBC.*IBM i Access ODBC Driver"):
        load_pyodbc()


def test_demo_systems_never_import_pyodbc(demo_system):
    import subprocess
    import sys

    script = (
        "import sys, ipaddress\n"
        "from pathlib import Path\n"
        "from bot.config import SystemSettings, DemoSettings\n"
        "from bot.ibmi_settings import open_system\n"
        "from bot.ibmi import sql\n"
        f"folder = Path({str(demo_system.demo.path)!r})\n"
        "s = SystemSettings(name='D', connection='demo', demo=DemoSettings(path=folder))\n"
        "sql.read_tcp_connections(open_system(s))\n"
        "assert 'pyodbc' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_the_driver_is_chosen_by_its_kind():
    assert driver_for("demo") is demo and driver_for("odbc") is odbc and driver_for("mapepire") is mapepire
    assert set(DRIVERS) == {"demo", "odbc", "mapepire"}
    with pytest.raises(ValueError, match="no IBM i driver 'jt400'; known: demo, mapepire, odbc"):
        driver_for("jt400")


def test_connection_settings_carry_what_the_driver_needs_and_hide_the_password():
    settings = connection_settings(ODBC, {"PROD_USER": "WARDEN", "PROD_PASSWORD": "s3;cret"})
    assert (settings.name, settings.driver, settings.connection_string) == ("PROD", "odbc", ODBC.connection)
    assert (settings.user, settings.password) == ("WARDEN", "s3;cret")
    assert (settings.login_timeout, settings.query_timeout) == (10.0, 30.0)
    assert "s3;cret" not in repr(settings)
    with pytest.raises(ValueError, match="no IBM i driver 'jdbc'"):
        system_connection(ConnectionSettings(name="X", driver="jdbc"))


def test_demo_settings_become_the_demo_driver_own_options(tmp_path):
    system = SystemSettings(
        name="D",
        connection="demo",
        user_env="UNSET_USER",
        query_timeout=5.0,
        demo=DemoSettings(path=tmp_path, latency=0.5, traffic=False, traffic_interval=9.0, seed=3),
    )
    settings = connection_settings(system, {})  # the demo signs on with no credentials
    assert (settings.driver, settings.user, settings.password, settings.query_timeout) == ("demo", None, None, 5.0)
    assert settings.demo == DemoOptions(path=tmp_path, latency=0.5, traffic_interval=None, seed=3)
    traffic = connection_settings(SystemSettings(name="D", connection="demo", demo=DemoSettings(traffic=True)), {})
    assert traffic.demo is not None and traffic.demo.traffic_interval == 60.0


class HangingCursor:
    """A statement that never answers until its connection is closed, as the IBM i Access driver can hang."""

    def __init__(self, owner: HangingConnection):
        self.owner = owner
        self.description: Any = None

    def execute(self, statement: str, params: tuple = ()) -> None:
        self.owner.statements.append((statement, params))
        if statement == sql.JOB_LOG_POSITION:
            self.description = (("ORDINAL_POSITION",),)  # read before every command; answers at once
            return
        self.owner.started.set()
        self.owner.closed.wait()
        raise DriverError("08S01", "Communication link failure")

    def close(self) -> None:
        pass


class HangingConnection:
    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple]] = []
        self.started = threading.Event()
        self.closed = threading.Event()

    def cursor(self) -> HangingCursor:
        return HangingCursor(self)

    def close(self) -> None:
        self.closed.set()


class HangingDriver:
    """Its first connection hangs; the ones after it answer."""

    classify_error = staticmethod(odbc.classify_error)

    def __init__(self) -> None:
        self.hung = HangingConnection()
        self.connections: list[Any] = []

    def connect(self, settings: ConnectionSettings) -> Any:
        connection = self.hung if not self.connections else FakeConnection([])
        self.connections.append(connection)
        return connection


def expire_once_started(driver: HangingDriver):  # noqa: ANN201
    """A deadline that passes as soon as the hung statement has started, recording the deadline waited for."""
    waited: list[float] = []

    def wait(event: threading.Event, seconds: float) -> bool:
        waited.append(seconds)
        if event.wait(0):
            return True
        if driver.hung.started.wait(5) and not event.is_set():
            return False
        return event.wait(5)

    return wait, waited


def test_a_statement_past_its_deadline_abandons_the_connection_and_names_system_and_statement():
    driver = HangingDriver()
    wait, waited = expire_once_started(driver)
    connection = SystemConnection(replace(PROD, statement_deadline=0.5), driver, wait=wait)
    with pytest.raises(DeadlineExceededError, match=r"PROD: 'SELECT \* FROM QSYS2\.NETSTAT_INFO' did not answer"):
        connection.query("SELECT *\n  FROM QSYS2.NETSTAT_INFO")
    assert driver.hung.closed.wait(5)  # closed from the bot's side; the hung thread is not waited for
    assert connection.exclusive().acquire(blocking=False)
    connection.exclusive().release()
    assert connection.query("SELECT 1") == [{"ONE": 1}]  # on a new connection
    assert len(driver.connections) == 2
    assert waited[0] == 0.5 + PROD.login_timeout  # the first call also connects
    assert waited[1] == 0.5 + PROD.login_timeout


def test_a_command_past_its_deadline_is_unknown_and_not_resent():
    driver = HangingDriver()
    wait, waited = expire_once_started(driver)
    connection = SystemConnection(replace(PROD, command_deadline=2.0), driver, wait=wait)
    with pytest.raises(QueryTimeoutError, match="PROD: 'QSYS/CHGSMTPA ALWRLY.*' did not answer .*unknown"):
        connection.run_cl(ChangeSmtpRelay.build("*LIST"))
    assert driver.hung.closed.wait(5)
    assert driver.hung.statements == [
        (sql.JOB_LOG_POSITION, ()),
        (sql.RUN_CL_COMMAND, ("QSYS/CHGSMTPA ALWRLY(*LIST)",)),
    ]
    assert len(driver.connections) == 1
    assert waited == [PROD.statement_limit + PROD.login_timeout, 2.0]  # the position read connected


def test_deadlines_default_to_a_few_seconds_above_the_query_timeout():
    settings = replace(PROD, query_timeout=20.0)
    assert settings.statement_limit == settings.command_limit == 20.0 + DEADLINE_MARGIN
    assert 0 < DEADLINE_MARGIN <= 10
    configured = connection_settings(
        replace(ODBC, statement_deadline=7.0, command_deadline=9.0), {"PROD_USER": "u", "PROD_PASSWORD": "p"}
    )
    assert (configured.statement_limit, configured.command_limit) == (7.0, 9.0)


def test_sql0666_the_estimated_time_over_the_query_timeout_is_a_timeout():
    refused = DriverError("57005", "[SQL0666] Estimated query processing time 45 exceeds limit 30.")
    assert classify_error(refused) == "timeout"
    with pytest.raises(QueryTimeoutError, match="SQL0666") as failure:
        SystemConnection(PROD, FakeDriver([refused])).query("SELECT 1")
    assert not isinstance(failure.value, DeadlineExceededError)  # the connection is fine: not degraded
