"""Doctor: the drivers the configured systems need — the ODBC driver for ODBC systems, mapepire-python for
Mapepire systems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.config import Config
from bot.doctor.report import (
    FAIL,
    OK,
    Report,
)
from bot.ibmi.drivers.mapepire import DRIVER_HELP as MAPEPIRE_HELP
from bot.ibmi.drivers.odbc import DRIVER_HELP, load_pyodbc
from bot.ibmi.errors import (
    DriverMissingError,
)

IBM_I_ODBC_DRIVER = "IBM i Access ODBC Driver"


def check_mapepire_driver(config: Config, report: Report) -> None:
    mapepire_systems = [system.name for system in config.systems if system.is_mapepire]
    if not mapepire_systems:
        return
    try:
        from importlib.metadata import version

        import mapepire_python  # noqa: F401  (loadable, not only installed)

        loaded = f"mapepire-python {version('mapepire-python')}"
    except ImportError as error:
        report.add(FAIL, "Mapepire driver", f"mapepire-python cannot be loaded ({error})", fix=MAPEPIRE_HELP)
        return
    report.add(OK, "Mapepire driver", f"{loaded} for {', '.join(mapepire_systems)}")


def check_odbc_driver(config: Config, report: Report, pyodbc_loader: Callable[[], Any] = load_pyodbc) -> None:
    if all(system.driver != "odbc" for system in config.systems):
        kinds = " and ".join(sorted({"demo" if system.is_demo else "Mapepire" for system in config.systems}))
        report.add(OK, "ODBC driver", f"not needed: {kinds} systems only")
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
