"""Why the HTTP server cannot listen where it was asked to, in one line saying what to change."""

from __future__ import annotations

import errno
import socket


class ListenError(Exception):
    """The HTTP server cannot listen where it was asked to; the message says why and what to change."""


def listen_problem(host: str, port: int, error: OSError) -> str:
    """One line for a failed bind: what is wrong with HOST:PORT and what to change."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(error, socket.gaierror):
        return f"cannot listen on {where}: {host!r} is not a known host name; use an address of this machine (--host)"
    if error.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: another program listens on port {port}; stop it or choose another --http"
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {where}: {host} is not an address of this machine; "
            "use one of its addresses, 127.0.0.1, or 0.0.0.0 for every address (--host or [http] host)"
        )
    if error.errno == errno.EACCES:
        return f"cannot listen on {where}: ports below 1024 need privileges; choose a port of 1024 or above (--http)"
    return f"cannot listen on {where}: {error.strerror or error}"
