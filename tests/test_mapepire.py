"""Mapepire as a way in: the configuration it takes, and the product end to end through mapepire-python
against the protocol stand-in (tests/mapepire_standin.py) serving the demo IBM i over verified TLS."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot import __version__
from bot.changes.approvals import ApprovalService
from bot.config import ConfigError, Secrets, SystemSettings, load_config
from bot.doctor import run_doctor
from bot.ibmi import sql
from bot.ibmi.cl import EndTcpConnection
from bot.ibmi.drivers import mapepire
from bot.ibmi.errors import ConnectionFailedError, IbmiError
from bot.ibmi_settings import connection_settings, open_system
from storage import approvals as store
from storage import open_database
from tests.mapepire_standin import StandIn, make_self_signed_certificate, mapepire_standin
from tests.test_alerts_e2e import FakeClock, make_config
from tests.test_approvals import APPROVER, REQUESTER, TELNET, Roles
from tests.test_cli import CLEAN_ENV

USER, PASSWORD = "WARDENSVC", "s3cret;pw"
ENV = {**CLEAN_ENV, "MP_USER": USER, "MP_PASSWORD": PASSWORD}
# No test here is about the login timeout: a bound a loaded machine never reaches (on a heavily loaded machine
# the websocket handshake with the stand-in once took longer than the default 10 s).
LOGIN_TIMEOUT = 120.0
SLACK = '[slack]\nalerts_channel = "C0123ALERTS"\napprovals_channel = "C0456APPROV"\n[storage]\npath = "w.db"\n'


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_certificate(tmp_path_factory.mktemp("tls"), subprocess.run)


@pytest.fixture
def standin(tmp_path: Path, certificate: tuple[Path, Path]) -> Iterator[StandIn]:
    with mapepire_standin(tmp_path / "demo-ibmi", *certificate, user=USER, password=PASSWORD) as server:
        yield server


def mapepire_system(standin: StandIn, ca_file: Path | None, password_env: str = "MP_PASSWORD") -> SystemSettings:
    return SystemSettings(
        name="PROD",
        connection=f"mapepire://127.0.0.1:{standin.port}",
        user_env="MP_USER",
        password_env=password_env,
        login_timeout=LOGIN_TIMEOUT,
        ca_file=ca_file,
    )


def write_config(tmp_path: Path, standin: StandIn, ca_file: Path) -> Path:
    path = tmp_path / "warden.toml"
    path.write_text(
        SLACK + f'[[systems]]\nname = "PROD"\nconnection = "mapepire://127.0.0.1:{standin.port}"\n'
        f'trusted = ["10.0.0.0/8"]\nuser_env = "MP_USER"\npassword_env = "MP_PASSWORD"\nca_file = "{ca_file}"\n'
        f"login_timeout = {LOGIN_TIMEOUT}\n"
    )
    return path


# --- configuration ----------------------------------------------------------------------------------


def load_system(tmp_path: Path, lines: str) -> SystemSettings:
    path = tmp_path / "warden.toml"
    path.write_text(SLACK + '[[systems]]\nname = "PROD"\n' + lines)
    return load_config(path, env={}).systems[0]


def problems(tmp_path: Path, lines: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_system(tmp_path, lines)
    return caught.value.problems


@pytest.mark.parametrize(
    ("connection", "host", "port"),
    [
        ("mapepire://ibmi.example.com", "ibmi.example.com", 8076),
        ("mapepire://ibmi.example.com:9470", "ibmi.example.com", 9470),
        ("mapepire://10.1.1.5/", "10.1.1.5", 8076),
        ("mapepire://[2001:db8::5]:8076", "2001:db8::5", 8076),
    ],
)
def test_a_mapepire_address_picks_the_mapepire_driver(tmp_path, connection, host, port):
    system = load_system(tmp_path, f'connection = "{connection}"\nuser_env = "U"\npassword_env = "P"\n')
    assert system.is_mapepire and system.driver == "mapepire" and system.ca_file is None
    settings = connection_settings(system, {"U": USER, "P": PASSWORD})
    assert settings.driver == "mapepire" and (settings.user, settings.password) == (USER, PASSWORD)
    assert mapepire.endpoint(settings.connection_string) == (host, port)


@pytest.mark.parametrize(
    ("connection", "says"),
    [
        ("mapepire://", "is not a Mapepire address"),
        ("mapepire://host:99999", "is not a Mapepire address"),
        ("mapepire://host:0", "has port 0"),
        ("mapepire://host/db", "is not a Mapepire address"),
        ("mapepire://host?secure=no", "is not a Mapepire address"),
    ],
)
def test_a_bad_mapepire_address_says_what_is_accepted(tmp_path, connection, says):
    found = problems(tmp_path, f'connection = "{connection}"\n')
    assert len(found) == 1 and says in found[0] and "'mapepire://HOST' or 'mapepire://HOST:PORT'" in found[0]


def test_a_password_in_the_address_is_refused_without_repeating_it(tmp_path):
    found = problems(tmp_path, 'connection = "mapepire://QSECOFR:hunter2@ibmi.example.com"\n')
    assert len(found) == 1 and "user_env and password_env" in found[0] and "hunter2" not in found[0]


def test_ca_file_must_exist_and_belongs_to_mapepire_systems(tmp_path):
    missing = problems(tmp_path, 'connection = "mapepire://h"\nca_file = "nowhere.pem"\n')
    assert len(missing) == 1 and "'nowhere.pem' is not a readable file" in missing[0]
    pem = tmp_path / "ca.pem"
    pem.write_text("x")
    odbc = problems(tmp_path, f'connection = "DSN=PROD"\nca_file = "{pem}"\n')
    assert len(odbc) == 1 and "only used with connection = 'mapepire://HOST[:PORT]'" in odbc[0]
    assert load_system(tmp_path, f'connection = "mapepire://h"\nca_file = "{pem}"\n').ca_file == pem


# --- the driver through the stand-in ------------------------------------------------------------------


def test_the_catalogue_reads_through_mapepire_as_through_the_demo(tmp_path, standin, certificate):
    through_mapepire = open_system(mapepire_system(standin, certificate[0]), ENV)
    try:
        rows = sql.read_tcp_connections(through_mapepire)
    finally:
        through_mapepire.close()
    assert "210.107.73.73" in {row.remote_address for row in rows}
    assert {"connect", "prepare_sql_execute", "sqlmore"} <= {r["type"] for r in standin.requests}
    first = next(r for r in standin.requests if r["type"] == "prepare_sql_execute")
    assert "QSYS2.NETSTAT_INFO" in first["sql"] and first["rows"] == 0


def test_without_the_ca_file_the_self_signed_certificate_is_refused(standin):
    connection = open_system(mapepire_system(standin, None), ENV)
    with pytest.raises(ConnectionFailedError, match="PROD: connecting failed: .*certificate verify failed"):
        connection.query(sql.NETSTAT_TCP_CONNECTIONS)
    assert standin.requests == []  # nothing was sent over the unverified channel


def test_a_wrong_password_is_a_connection_failure_naming_the_system(standin, certificate):
    connection = open_system(mapepire_system(standin, certificate[0], password_env="WRONG"), {**ENV, "WRONG": "x"})
    with pytest.raises(ConnectionFailedError, match="PROD: connecting failed: .*Password is not correct"):
        sql.read_tcp_connections(connection)


def test_an_sql_error_keeps_ibms_message(standin, certificate):
    connection = open_system(mapepire_system(standin, certificate[0]), ENV)
    try:
        with pytest.raises(IbmiError, match=r"PROD: 'SELECT \* FROM QSYS2.NO_SUCH_VIEW' failed: \[SQL0204\]"):
            connection.query("SELECT * FROM QSYS2.NO_SUCH_VIEW")
        assert connection.query("SELECT COUNT(*) AS N FROM QSYS2.NETSTAT_INFO")[0]["N"] > 0  # still usable
    finally:
        connection.close()


def test_an_approved_command_runs_through_qcmdexc_over_mapepire(tmp_path, certificate):
    config = make_config(tmp_path)
    demo_folder = config.systems[0].demo.path
    with mapepire_standin(demo_folder, *certificate, user=USER, password=PASSWORD) as standin:
        system = replace(mapepire_system(standin, certificate[0]), name="DEMO")
        connection = open_system(system, ENV)
        storage = open_database(config.storage.path, __version__)
        try:
            service = ApprovalService(storage, config, Roles(), lambda name: connection, FakeClock().now)
            request = service.submit(
                system="DEMO",
                action="end-connection",
                params={"address": "210.107.73.73"},
                commands=[EndTcpConnection.build(**TELNET)],
                summary="End 1 connection from 210.107.73.73",
                requester=REQUESTER,
                reason="unknown telnet user",
            ).request
            assert "Approved" in service.approve(request.id, APPROVER)
            assert store.get(storage, request.id).state == "done"
            remotes = {row.remote_address for row in sql.read_tcp_connections(connection)}
        finally:
            connection.close()
            storage.close()
    assert "210.107.73.73" not in remotes
    calls = [r for r in standin.requests if r["type"] == "prepare_sql_execute" and "QCMDEXC" in r["sql"]]
    assert [(c["sql"], c["parameters"]) for c in calls] == [(sql.RUN_CL_COMMAND, list(request.commands))]


# --- the command line ---------------------------------------------------------------------------------


def test_check_finds_the_demos_findings_through_mapepire(tmp_path, standin, certificate):
    config = write_config(tmp_path, standin, certificate[0])
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--config", str(config), "--json"],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert "210.107.73.73" in {f["subject"] for f in report["findings"] if f["system"] == "PROD"}
    assert PASSWORD not in result.stdout + result.stderr


def test_doctor_reports_the_mapepire_driver_and_the_trust(tmp_path, standin, certificate, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    run_doctor(write_config(tmp_path, standin, certificate[0]), Secrets(), env=ENV, out=out)
    text = out.getvalue()
    assert "  ok      ODBC driver (not needed: Mapepire systems only)" in text
    assert "  ok      Mapepire driver (mapepire-python 1." in text and "for PROD)" in text
    assert f"PROD: reachable (signed on through Mapepire at mapepire://127.0.0.1:{standin.port}" in text
    assert f"certificate verified against {certificate[0]}" in text
    assert "PROD: NETSTAT readable" in text and PASSWORD not in text
    assert "  ok      PROD: IBM i release (IBM i 7.5)" in text
    assert "  ok      PROD: PTF groups (installed: SF99950 level 6)" in text


def test_the_standin_answers_mapepires_own_sql_and_cl_requests(standin, certificate):
    """mapepire-python's non-DB-API calls (`sql` and `cl` requests) get the shapes the client parses."""
    from bot.ibmi.drivers.mapepire import connect

    connection = connect(connection_settings(mapepire_system(standin, certificate[0]), ENV))
    try:
        rows = connection.job.query_and_run("SELECT COUNT(*) AS N FROM QSYS2.NETSTAT_INFO")
        assert rows["success"] and rows["data"][0]["N"] > 0
        done = connection.job.query("CHGSMTPA ALWRLY(*NONE)", opts={"isClCommand": True}).run()
        assert done["success"] and done["is_done"]
    finally:
        connection.close()
    assert [r["type"] for r in standin.requests] == ["connect", "sql", "cl"]
    assert standin.requests[-1]["cmd"] == "CHGSMTPA ALWRLY(*NONE)"
