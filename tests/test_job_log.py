"""The real reason for a failed CL command: the job log read after a failed QCMDEXC, shown to the approver and
kept in the audit; the demo's job log with IBM's message ids; the driver's "[CPFxxxx] text" shape."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import __version__
from bot.changes.approvals import ApprovalService
from bot.changes.render import request_message
from bot.ibmi import sql
from bot.ibmi.access import ConnectionSettings, DemoOptions, SystemConnection, cl_error
from bot.ibmi.cl import AddSmtpListEntry, ChangeSmtpRelay
from bot.ibmi.drivers import demo
from bot.ibmi.drivers.demo import DemoConnection, ensure_demo_system
from bot.ibmi.errors import CLCommandError
from bot.ibmi.rows import JobLogMessage
from storage import approvals as store
from storage import audit, open_database
from tests.test_alerts_e2e import FakeClock, make_config
from tests.test_approvals import APPROVER, REQUESTER, Roles
from tests.test_connection import PROD, DriverError, FakeDriver


def demo_connection(folder: Path, **options: Any) -> SystemConnection:
    settings = ConnectionSettings(name="DEMO", driver="demo", demo=DemoOptions(path=folder, **options))
    return SystemConnection(settings, demo)


class ExcludingDemo:
    """The demo driver with some commands *EXCLUDE to the bot's profile."""

    classify_error = staticmethod(demo.classify_error)

    def __init__(self, folder: Path, excluded: tuple[str, ...]):
        self.folder = folder
        self.excluded = excluded

    def connect(self, settings: ConnectionSettings) -> DemoConnection:
        ensure_demo_system(self.folder)
        return DemoConnection(self.folder, excluded_commands=self.excluded)


def failure(connection: SystemConnection, command: Any) -> CLCommandError:
    with pytest.raises(CLCommandError) as raised:
        connection.run_cl(command)
    return raised.value


def test_a_missing_iosyscfg_is_reported_as_tcp8050_with_the_job_log(tmp_path):
    connection = demo_connection(tmp_path, missing_authorities=("*IOSYSCFG",))
    error = failure(connection, AddSmtpListEntry.build("*ACCEPT", "10.9.9.9"))
    assert error.message_id == "TCP8050"
    assert error.text == "*IOSYSCFG authority required to use ADDSMTPLE."
    assert [(m.message_id, m.message_type) for m in error.job_log] == [("TCP8050", "ESCAPE")]
    assert error.command.startswith("QSYS/ADDSMTPLE ")


def test_an_excluded_command_shows_cpd0032_before_cpf0006(tmp_path):
    settings = ConnectionSettings(name="DEMO", driver="demo")
    connection = SystemConnection(settings, ExcludingDemo(tmp_path, ("CHGSMTPA",)))
    error = failure(connection, ChangeSmtpRelay.build("*LIST"))
    assert error.message_id == "CPF0006"
    assert [m.describe() for m in error.job_log] == [
        "CPD0032 (diagnostic): Not authorized to command CHGSMTPA in library QSYS.",
        "CPF0006 (escape): Errors occurred in command.",
    ]


def test_a_failure_shows_only_its_own_job_log_messages_not_an_earlier_calls(tmp_path):
    connection = demo_connection(tmp_path, missing_authorities=("*IOSYSCFG",))
    first = failure(connection, ChangeSmtpRelay.build("*LIST"))
    error = failure(connection, ChangeSmtpRelay.build("*NONE"))
    assert [m.message_id for m in first.job_log] == ["TCP8050"]  # SQL0443 rows left out
    assert [m.message_id for m in error.job_log] == ["TCP8050"]  # the first call's message is not its reason
    assert "ALWRLY" not in error.job_log[0].text or "*NONE" in error.command
    rows = connection.query(sql.JOB_LOG_MESSAGES, (0,))
    assert rows[0]["MESSAGE_ID"] == "SQL0443" and len(rows) == 4  # the table function's newest-first order
    assert connection.query(sql.JOB_LOG_POSITION) == [{"ORDINAL_POSITION": 4}]
    other = demo_connection(tmp_path)
    assert other.query(sql.JOB_LOG_MESSAGES, (0,)) == []  # another job, another job log


def test_a_job_log_that_cannot_be_read_leaves_the_failure_as_the_driver_told_it():
    message = "[IBM][System i Access ODBC Driver]SQL0443 The associated text is CPF0006. Errors occurred in command."
    denied = DriverError("42501", "[SQL0551] Not authorized to JOBLOG_INFO.")
    driver = FakeDriver([denied, DriverError("38501", message), denied])
    driver.connections[0].job_log_position_fails = True
    error = failure(SystemConnection(PROD, driver), ChangeSmtpRelay.build("*LIST"))
    assert (error.message_id, error.text, error.job_log) == ("CPF0006", "Errors occurred in command.", ())
    statements = driver.connections[0].statements  # all on the same connection
    assert statements[0] == (sql.JOB_LOG_POSITION, ())
    assert statements[2] == (sql.JOB_LOG_MESSAGES, (0,))  # the position unread: the newest messages


@pytest.mark.parametrize(
    ("driver_message", "text"),
    [
        ("[CPF9899] Error occurred during processing of command.", "Error occurred during processing of command."),
        ("[CPD0032] Not authorized to command CHGSMTPA.", "Not authorized to command CHGSMTPA."),
        ("[TCP8050]*IOSYSCFG authority required to use ENDTCPCNN.", "*IOSYSCFG authority required to use ENDTCPCNN."),
    ],
)
def test_the_bracketed_driver_shape_is_parsed_without_a_stray_bracket(driver_message, text):
    error = cl_error("QSYS/CHGSMTPA ALWRLY(*LIST)", driver_message)
    assert error.message_id == driver_message[1:8] and error.text == text


def test_job_log_rows_become_messages_oldest_first():
    rows = [
        {"MESSAGE_ID": "SQL0443", "MESSAGE_TYPE": "DIAGNOSTIC", "MESSAGE_TEXT": "Trigger …", "MESSAGE_TIMESTAMP": 3},
        {"MESSAGE_ID": "CPF0006", "MESSAGE_TYPE": "ESCAPE", "MESSAGE_TEXT": "Errors occurred in command. "},
        {"MESSAGE_ID": None, "MESSAGE_TYPE": "DIAGNOSTIC", "MESSAGE_TEXT": "Value not valid."},
        {"MESSAGE_ID": None, "MESSAGE_TYPE": "DIAGNOSTIC", "MESSAGE_TEXT": None},
        {"MESSAGE_ID": "CPC2191", "MESSAGE_TYPE": "COMPLETION", "MESSAGE_TEXT": "Object deleted."},
    ]
    assert sql.job_log_messages(rows) == (
        JobLogMessage(None, "DIAGNOSTIC", "Value not valid."),
        JobLogMessage("CPF0006", "ESCAPE", "Errors occurred in command."),
    )


@pytest.fixture
def without_iosyscfg(tmp_path):
    config = make_config(tmp_path)
    system = config.systems[0]
    assert system.demo is not None
    system = replace(system, demo=replace(system.demo, missing_authorities=("*IOSYSCFG",)))
    config = replace(config, systems=(system,))
    storage = open_database(config.storage.path, __version__)
    from bot.ibmi_settings import open_system

    connection = open_system(system)
    service = ApprovalService(storage, config, Roles(), lambda name: connection, FakeClock().now)
    yield service, storage
    storage.close()


def test_an_approved_smtp_add_runs_qualified_and_a_failure_shows_the_job_log(without_iosyscfg):
    service, storage = without_iosyscfg
    command = AddSmtpListEntry.build("*ACCEPT", "10.9.9.0", 24)
    request = service.submit(
        system="DEMO",
        action="smtp-add",
        params={"list_type": "*ACCEPT", "address": "10.9.9.0", "mask": "255.255.255.0"},
        commands=[command],
        summary="Add 10.9.9.0/24 to the *ACCEPT list",
        requester=REQUESTER,
        reason="branch office",
    ).request
    assert request is not None
    assert request.commands == ("QSYS/ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.9.9.0') SUBNETMASK('255.255.255.0')",)
    service.approve(request.id, APPROVER)
    final = store.get(storage, request.id)
    assert final is not None and final.state == "failed"
    assert final.outcome["job_log"] == [["TCP8050", "ESCAPE", "*IOSYSCFG authority required to use ADDSMTPLE."]]
    assert "job log: TCP8050 (escape): *IOSYSCFG authority required to use ADDSMTPLE." in final.outcome["text"]
    shown = str(request_message(final))
    assert "TCP8050" in shown and "QSYS/ADDSMTPLE" in shown
    (execute,) = [event for event in audit.recent(storage, 50) if event.action == "execute"]
    assert "TCP8050" in execute.outcome
    assert execute.details["job_log"] == final.outcome["job_log"]
