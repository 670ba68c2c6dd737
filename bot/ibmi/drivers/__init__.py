"""The ways in to IBM i, one module each, and the one table that picks a driver by its kind.

A driver is a module with `connect(settings)` and `classify_error(error)` (`bot.ibmi.access.Driver`);
a new one is a new module here and one line in DRIVERS.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.ibmi.access import ConnectionSettings, Driver, SystemConnection
from bot.ibmi.drivers import demo, mapepire, odbc

DRIVERS: Mapping[str, Driver] = {
    "demo": demo,
    "odbc": odbc,
    "mapepire": mapepire,
}


def driver_for(kind: str) -> Driver:
    try:
        return DRIVERS[kind]
    except KeyError:
        raise ValueError(f"no IBM i driver {kind!r}; known: {', '.join(sorted(DRIVERS))}") from None


def system_connection(settings: ConnectionSettings) -> SystemConnection:
    """The connection to one system through the driver its settings name (connecting happens on first use)."""
    return SystemConnection(settings, driver_for(settings.driver))
