"""The Mapepire connection with the websocket opened here: verified TLS, the login timeout, a size bound.

mapepire-python's `Connection` builds its `SQLJob`, and the job opens its own websocket (`_get_channel`);
both are replaced so that the TLS context is the bot's. Everything after the websocket is opened — the
`connect` request, `prepare_sql_execute`, `sqlmore`, `sqlclose`, the DB-API surface — is mapepire-python's.
"""

from __future__ import annotations

import base64
import ssl

from mapepire_python.client.sql_job import SQLJob
from mapepire_python.core.connection import Connection
from mapepire_python.data_types import DaemonServer
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as open_websocket

# The largest reply accepted: every remaining row of a result comes in one sqlmore reply.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def basic_authorization(user: str, password: str) -> str:
    """The header the Mapepire server reads the user profile and password from on the websocket upgrade."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _VerifiedJob(SQLJob):
    def __init__(self, server: DaemonServer, tls: ssl.SSLContext, open_timeout: float) -> None:
        super().__init__(creds=server)
        self._tls = tls
        self._open_timeout = open_timeout

    def _get_channel(self, db2_server: DaemonServer) -> ClientConnection:
        host = str(db2_server.host)
        netloc = f"[{host}]" if ":" in host else host
        # Entered as a context manager (closed by the job's close()): websockets 17.1 deprecates any other use.
        return open_websocket(
            f"wss://{netloc}:{db2_server.port}/db/",
            additional_headers={"Authorization": basic_authorization(db2_server.user, db2_server.get_password())},
            open_timeout=self._open_timeout,
            ssl=self._tls,
            max_size=MAX_MESSAGE_BYTES,
        ).__enter__()


class VerifiedConnection(Connection):
    """mapepire-python's DB-API connection over a websocket this module opened."""

    def __init__(self, server: DaemonServer, tls: ssl.SSLContext, open_timeout: float) -> None:
        # Connection.__init__ would build an SQLJob that opens its own, differently verified websocket.
        self._closed = False
        self.job = _VerifiedJob(server, tls, open_timeout)
        self.job.connect(server)
