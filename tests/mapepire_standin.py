"""A Mapepire server stand-in: the websocket JSON protocol of Mapepire's server, answered by the demo IBM i.

Each websocket gets its own demo DB-API connection (`bot.ibmi.drivers.demo.connect`), as each Mapepire
websocket gets its own database job. What is implemented, and where the real server says so
(github.com/Mapepire-IBMi/mapepire-server, src/main/java/com/github/ibm/mapepire/...):

- The upgrade to `wss://HOST:PORT/db/` must carry `Authorization: Basic base64(user:password)`; without it
  the server answers 403 (ws/DbSocketCreator.java). The profile signs on at the `connect` request, whose
  reply carries `job` (requests/Reconnect.java).
- Requests are JSON objects with `id` and `type`; every reply has `id`, `success` and `execution_time`, and a
  failure adds `error`, `sql_state` and `sql_rc` (ClientRequest.java; README.md's request table).
- `sql` runs a statement (requests/RunSql.java); `prepare_sql_execute` prepares it and runs it with
  `parameters`, each bound as a string (requests/PrepareSql.java, PreparedExecute.java); both return up to
  `rows` rows as objects keyed by column name, `metadata.columns`, `has_results`, `update_count` and `is_done`,
  which is true only once a fetch came back short (BlockRetrievableRequest.getNextDataBlock).
- `sqlmore` returns the next `rows` rows of the result named by `cont_id` (RunSqlMore.java); `sqlclose`
  closes it (CloseSqlCursor.java); an unknown `cont_id` is "invalid correlation ID" (DataStreamProcessor.java).
- `cl` runs `cmd` through `CALL QSYS2.QCMDEXC(?)` and answers with job-log rows (requests/RunCL.java); here
  the job log is not read, so `data` is empty (the demo's own job log is the demo's business).
- `exit` answers `success` with the job name and ends the connection (requests/Exit.java).

mapepire-python (client/query.py, core/cursor.py) sends `connect` at open, one `prepare_sql_execute` with
`rows: 0` per `cursor.execute`, then `sqlmore` for the rows, and `sqlclose` when the cursor closes.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from bot.ibmi.access import ConnectionSettings, DemoOptions
from bot.ibmi.drivers import demo

JOB_NAME = "123456/QUSER/QZDASOINIT"
_SQL_CODE = re.compile(r"\[SQL(\d{4})\]")


@dataclass
class _Result:
    columns: list[str]
    rows: Iterator[tuple[Any, ...]]
    done: bool = False


@dataclass
class StandIn:
    """What a test sees of the server: where it listens and every request it was sent."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)


def _column_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "DECIMAL"
    return "VARCHAR"


def _cell(value: Any) -> Any:
    """As the server writes a cell: strings, numbers and booleans as they are, anything else as its text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class _Session:
    """One websocket: one demo job, its open results by request id."""

    def __init__(self, settings: ConnectionSettings, user: str, password: str, expected: tuple[str, str]):
        self._settings = settings
        self._signed_on = (user, password) == expected
        self._db: Any = None
        self._results: dict[str, _Result] = {}

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = {"id": request.get("id")}
        started = time.monotonic()
        try:
            reply.update(self._dispatch(request))
            reply.setdefault("success", True)
        except Exception as error:
            message = str(error.args[-1]) if error.args else str(error)
            reply.update(error=message, success=False)
            if isinstance(error, demo.DemoError):
                code = _SQL_CODE.search(message)
                reply.update(sql_state=error.args[0], sql_rc=-int(code[1]) if code else -1)
        reply["execution_time"] = round((time.monotonic() - started) * 1000)
        return reply

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def _dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        kind = request.get("type")
        if kind == "connect":
            if not self._signed_on:
                raise RuntimeError("The application server rejected the connection. (Password is not correct.)")
            self._db = demo.connect(self._settings)
            return {"job": JOB_NAME}
        if self._db is None:
            raise RuntimeError("not connected")
        if kind in ("sql", "prepare_sql_execute"):
            return self._run(
                request, str(request["sql"]), [None if p is None else str(p) for p in request.get("parameters") or []]
            )
        if kind == "sqlmore":
            return self._more(request)
        if kind == "sqlclose":
            self._result(request)
            self._results.pop(str(request["cont_id"]), None)
            return {}
        if kind == "cl":
            self._db.cursor().execute("CALL QSYS2.QCMDEXC(?)", (str(request["cmd"]),))
            return {"data": [], "is_done": True}
        if kind == "exit":
            return {"success": JOB_NAME}
        raise RuntimeError(f"unknown request type: {kind}")

    def _run(self, request: dict[str, Any], statement: str, parameters: list[str | None]) -> dict[str, Any]:
        cursor = self._db.cursor()
        cursor.execute(statement, tuple(parameters))
        if cursor.description is None:
            return {
                "data": [],
                "has_results": False,
                "update_count": cursor.rowcount,
                "output_parms": [],
                "is_done": True,
            }
        columns = [str(column[0]) for column in cursor.description]
        rows = cursor.fetchall()
        result = _Result(columns, iter(rows))
        self._results[str(request["id"])] = result
        first = rows[0] if rows else (None,) * len(columns)
        metadata = {
            "column_count": len(columns),
            "job": JOB_NAME,
            "columns": [
                {"name": name, "type": _column_type(value), "display_size": 0, "label": name}
                for name, value in zip(columns, first, strict=True)
            ],
        }
        data = self._block(result, int(request.get("rows", 1000)))
        return {
            "has_results": True,
            "update_count": -1,
            "metadata": metadata,
            "data": data,
            "output_parms": [],
            "is_done": result.done,
        }

    def _result(self, request: dict[str, Any]) -> _Result:
        result = self._results.get(str(request.get("cont_id")))
        if result is None:
            raise RuntimeError("invalid correlation ID")
        return result

    def _more(self, request: dict[str, Any]) -> dict[str, Any]:
        result = self._result(request)
        return {"data": self._block(result, int(request.get("rows", 1000))), "is_done": result.done}

    @staticmethod
    def _block(result: _Result, count: int) -> list[dict[str, Any]]:
        if result.done:
            return []
        block = list(itertools.islice(result.rows, count))
        result.done = len(block) < count
        return [{name: _cell(value) for name, value in zip(result.columns, row, strict=True)} for row in block]


def _credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    user, colon, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    return (user, password) if colon else None


@contextmanager
def mapepire_standin(
    demo_folder: Path, certificate: Path, key: Path, user: str = "WARDENSVC", password: str = "secret"
) -> Iterator[StandIn]:
    """A stand-in listening with TLS on 127.0.0.1 (a free port), serving the demo system in `demo_folder`."""
    settings = ConnectionSettings(name="MAPEPIRE", driver="demo", demo=DemoOptions(path=demo_folder))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate, key)
    state = StandIn(port=0)

    def authorise(connection: ServerConnection, request: Request) -> Response | None:
        if _credentials(request.headers.get("Authorization")) is None or request.path != "/db/":
            return connection.respond(HTTPStatus.FORBIDDEN, "Authorization header missing\n")
        return None

    def handle(connection: ServerConnection) -> None:
        signed = _credentials(connection.request.headers.get("Authorization") if connection.request else None)
        assert signed is not None
        session = _Session(settings, signed[0], signed[1], (user, password))
        try:
            for message in connection:
                request = json.loads(message)
                state.requests.append(request)
                connection.send(json.dumps(session.answer(request)))
                if request.get("type") == "exit":
                    break
        finally:
            session.close()

    server: Server = serve(handle, "127.0.0.1", 0, ssl=tls, process_request=authorise)
    state.port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, name="mapepire-standin", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=10)


def make_self_signed_certificate(folder: Path, run: Callable[..., Any]) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key (made with the openssl command)."""
    certificate, key = folder / "mapepire-cert.pem", folder / "mapepire-key.pem"
    run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(certificate),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key
