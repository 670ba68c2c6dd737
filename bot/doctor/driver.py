"""Doctor: the ODBC driver, needed only when an ODBC system is configured."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.config import Config
from bot.doctor.report import (
    FAIL,
    OK,
    Report,
)
from bot.ibmi.drivers.odbc import DRIVER_HELP, load_pyodbc
from bot.ibmi.errors import (
    DriverMissingError,
)

IBM_I_ODBC_DRIVER = "IBM i Access ODBC Driver"


def check_odbc_driver(config: Config, report: Report, pyodbc_loader: Callable[[], Any] = load_pyodbc) -> None:
    if all(system.is_demo for system in config.systems):
        report.add(OK, "ODBC driver", "not needed: demo systems only")
        return
    try:
        pyodbc = pyodbc_loader()
    except DriverMissingError as error:
        report.add(FAIL, "ODBC driver", str(error).split(";")[0], fix=DRIVER_HELP)
        return
    drivers = list(pyodbc.drivers())
    if IBM_I_ODBC_DRIVER in drivers:
        report.add(OK, "ODBC driver", f"pyodbc {pyodbc.version}; {IBM_I_ODBC_DRIVER} registered with unixODBC")
        return
    registered = ", ".join(drivers) if drivers else "none"
    report.add(
        FAIL,
        "ODBC driver",
        f"{IBM_I_ODBC_DRIVER} is not registered with unixODBC (registered: {registered})",
        fix=DRIVER_HELP,
    )
