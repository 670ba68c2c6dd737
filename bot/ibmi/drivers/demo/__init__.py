"""The demo driver: an embedded IBM i in SQLite files, behind the same DB-API surface as the ODBC driver.

Its errors are shaped like the IBM i Access ODBC driver's, so the ODBC classification applies unchanged.
"""

from __future__ import annotations

from bot.ibmi.drivers.demo.connection import DemoConnection, connect
from bot.ibmi.drivers.demo.errors import DemoError
from bot.ibmi.drivers.demo.store import demo_relay_policy, ensure_demo_system
from bot.ibmi.drivers.odbc import classify_error

__all__ = ["DemoConnection", "DemoError", "classify_error", "connect", "demo_relay_policy", "ensure_demo_system"]
