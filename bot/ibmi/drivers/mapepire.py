"""The Mapepire driver: IBM's websocket database server on IBM i, through the pure-Python `mapepire-python`
DB-API 2.0 client, so the bot's host needs no ODBC driver.

`cursor.execute(sql, params)` is one `prepare_sql_execute` request and its rows come by `sqlmore`, so the
same SQL catalogue and the same `CALL QSYS2.QCMDEXC(?)` path as ODBC run unchanged.

TLS is always verified: against `ca_file` when the system names one, else against the operating system's
trusted CAs, with the host name checked. (mapepire-python, given no CA, fetches the server's certificate
unverified and then trusts it; this driver opens the websocket itself to avoid that.)
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.ibmi.access import ConnectionSettings, ErrorKind
from bot.ibmi.errors import DriverMissingError

DEFAULT_PORT = 8076  # the Mapepire server's default port
DRIVER_HELP = "install the Python package mapepire-python (pip install 'mapepire-python>=1.0.1,<2')"

_CONNECTION_HINTS = ("cannot operate on a closed connection", "connection was closed", "not connected")
_TIMEOUT_HINTS = ("sql0666", "timed out")
_AUTHORITY_HINTS = ("sql0551", "not authorized")
_MISSING_HINTS = ("sql0204", "sql0206")  # an object, a column not found


def endpoint(connection: str) -> tuple[str, int]:
    """The host and port of a 'mapepire://HOST[:PORT]' address (validated when the configuration loads)."""
    parts = urlsplit(connection)
    if not parts.hostname:
        raise ValueError(f"{connection!r} names no host; expected mapepire://HOST[:PORT]")
    return parts.hostname, parts.port or DEFAULT_PORT


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """A client context that verifies the server's certificate and host name."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def connect(settings: ConnectionSettings) -> Any:
    try:
        from mapepire_python.data_types import DaemonServer

        from bot.ibmi.drivers.mapepire_channel import VerifiedConnection
    except ImportError as error:
        raise DriverMissingError(f"mapepire-python cannot be loaded ({error}); {DRIVER_HELP}") from error

    host, port = endpoint(settings.connection_string)
    server = DaemonServer(host=host, port=port, user=settings.user or "", password=settings.password or "")
    return VerifiedConnection(server, tls_context(settings.ca_file), settings.login_timeout)


def classify_error(error: BaseException) -> ErrorKind:
    """'connection', 'timeout', 'authority', 'missing' or 'other'. mapepire-python keeps only the server's message text
    (IBM's "[SQLxxxx] text" form), not the SQLSTATE, so the text decides."""
    from websockets.exceptions import ConnectionClosed

    if isinstance(error, ConnectionClosed | ConnectionError | ssl.SSLError):
        return "connection"
    if isinstance(error, TimeoutError):
        return "timeout"
    message = " ".join(str(a) for a in getattr(error, "args", ())).lower()
    if any(hint in message for hint in _CONNECTION_HINTS):
        return "connection"
    if any(hint in message for hint in _TIMEOUT_HINTS):
        return "timeout"
    if any(hint in message for hint in _AUTHORITY_HINTS):
        return "authority"
    if any(hint in message for hint in _MISSING_HINTS):
        return "missing"
    return "other"
