"""The IBM i release and PTF groups: read through SYSIBMADM.ENV_SYS_INFO and QSYS2.GROUP_PTF_INFO, reported by
the demo as configured, shown by doctor, and "cannot see: needs …" when the service cannot be read."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, Secrets, SystemSettings, load_config
from bot.doctor import run_doctor
from bot.doctor.report import Report
from bot.doctor.system import _check_release
from bot.ibmi import sql
from bot.ibmi.access import ConnectionSettings, DemoOptions
from bot.ibmi.drivers.demo import connect
from bot.ibmi.errors import IbmiError, NotAuthorizedError
from bot.ibmi.rows import PtfGroup, Release
from bot.ibmi_settings import open_system
from tests.test_cli import CLEAN_ENV

SLACK = '[slack]\nalerts_channel = "C0123ALERTS"\napprovals_channel = "C0456APPROV"\n[storage]\npath = "w.db"\n'


def demo_config(tmp_path: Path, demo_lines: str = "") -> Path:
    path = tmp_path / "warden.toml"
    path.write_text(
        SLACK + '[[systems]]\nname = "DEMO"\nconnection = "demo"\ntrusted = ["10.0.0.0/8"]\n'
        f'[systems.demo]\npath = "{tmp_path / "demo-ibmi"}"\n{demo_lines}'
    )
    return path


def test_the_demo_reports_the_configured_release_and_its_db2_ptf_group(tmp_path):
    system = load_config(demo_config(tmp_path, 'release = "7.6"\n'), env={}).systems[0]
    connection = open_system(system, {})
    try:
        assert sql.read_release(connection) == Release(version="7", release="6")
        assert sql.read_installed_ptf_groups(connection) == (PtfGroup("SF99960", 2, "INSTALLED"),)
    finally:
        connection.close()


def test_a_demo_folder_follows_a_changed_release(tmp_path):
    folder = tmp_path / "demo-ibmi"
    for release, group in (("7.4", "SF99704"), ("7.5", "SF99950")):
        settings = ConnectionSettings(name="DEMO", driver="demo", demo=DemoOptions(path=folder, release=release))
        connection = connect(settings)
        try:
            cursor = connection.cursor().execute("SELECT OS_RELEASE FROM SYSIBMADM.ENV_SYS_INFO")
            assert cursor.fetchall() == [(release[-1],)]
            cursor = connection.cursor().execute("SELECT DISTINCT PTF_GROUP_NAME FROM QSYS2.GROUP_PTF_INFO")
            assert cursor.fetchall() == [(group,)]
        finally:
            connection.close()


def test_an_unknown_demo_release_is_a_configuration_problem(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(demo_config(tmp_path, 'release = "V7R5"\n'), env={})
    assert any('\'V7R5\' is not one of "7.3", "7.4", "7.5", "7.6"' in p for p in caught.value.problems)


def test_doctor_prints_the_demo_release_and_ptf_groups(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    run_doctor(demo_config(tmp_path, 'release = "7.4"\n'), Secrets(), env=CLEAN_ENV, out=out)
    text = out.getvalue()
    assert "  ok      DEMO: IBM i release (IBM i 7.4)" in text
    assert "  ok      DEMO: PTF groups (installed: SF99704 level 28)" in text


def test_only_the_newest_installed_level_of_each_group_is_kept():
    class Rows:
        def query(self, statement: str, params: Any = ()) -> list[dict[str, Any]]:
            assert statement == sql.INSTALLED_PTF_GROUPS
            return [
                {"PTF_GROUP_NAME": "SF99950", "PTF_GROUP_LEVEL": 5, "PTF_GROUP_STATUS": "INSTALLED"},
                {"PTF_GROUP_NAME": "SF99950", "PTF_GROUP_LEVEL": 6, "PTF_GROUP_STATUS": "INSTALLED"},
                {"PTF_GROUP_NAME": "SF99738", "PTF_GROUP_LEVEL": 40, "PTF_GROUP_STATUS": "INSTALLED"},
            ]

    assert [group.describe() for group in sql.read_installed_ptf_groups(Rows())] == [
        "SF99738 level 40",
        "SF99950 level 6",
    ]


class Refusing:
    """A system whose ENV_SYS_INFO is missing and whose GROUP_PTF_INFO the profile may not read."""

    def query(self, statement: str, params: Any = ()) -> list[dict[str, Any]]:
        if "ENV_SYS_INFO" in statement:
            raise IbmiError("PROD: query failed: [SQL0204] ENV_SYS_INFO in SYSIBMADM type *FILE not found.")
        raise NotAuthorizedError("PROD: query failed: [SQL0551] Not authorized to object GROUP_PTF_INFO.")


def test_doctor_says_what_it_cannot_see_and_what_that_needs():
    report = Report(io.StringIO())
    _check_release(SystemSettings(name="PROD", connection="DSN=PROD"), Refusing(), report)  # type: ignore[arg-type]
    lines = {item.name: item for item in report.items}
    release = lines["PROD: IBM i release"]
    assert release.status == "unknown" and release.detail.startswith("cannot see: needs SYSIBMADM.ENV_SYS_INFO")
    groups = lines["PROD: PTF groups"]
    assert groups.status == "unknown" and groups.detail.startswith("cannot see: needs *USE to the WRKPTFGRP command")
    assert "WRKPTFGRP" in (groups.fix or "")
