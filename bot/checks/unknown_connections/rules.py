"""unknown-connections: established TCP connections from addresses outside the trusted networks.

IBM sources: QSYS2.NETSTAT_INFO and QSYS2.NETSTAT_JOB_INFO views (IBM Documentation, 7.4-7.6); on
7.6 both need *IOSYSCFG or the QIBM_IOSYSCFG_VIEW function usage. The practice it replaces is
NETSTAT OPTION(*CNN) and scanning for unfamiliar remote addresses (Kisco, "Who's connected to your
IBM i?"). Polling misses connections shorter than the check interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from operator import attrgetter
from typing import Any

from bot.checks.finding import Finding
from bot.checks.tcp_states import tcp_states
from bot.checks.visibility import netstat_not_visible
from bot.ibmi.rows import ConnectionJob, IPAddress, NetstatConnection
from bot.net import AddressKey, TrustList, address_from_key, address_text

CHECK_ID = "unknown-connections"

JOBS_NOT_VISIBLE = (
    "Job and user not visible: QSYS2.NETSTAT_JOB_INFO could not be read "
    "(on IBM i 7.6 it needs *IOSYSCFG or the QIBM_IOSYSCFG_VIEW function usage)."
)


def untrusted_remote(connection: NetstatConnection, trusted: TrustList) -> IPAddress | None:
    """The remote address of an established connection that is neither local nor trusted."""
    if not connection.is_established:
        return None
    key = trusted.untrusted_key(connection.remote_address)
    return None if key is None else address_from_key(key)


def evaluate(
    system: str,
    connections: Sequence[NetstatConnection],
    jobs: Sequence[ConnectionJob] | None,
    trusted: TrustList,
) -> list[Finding]:
    """One finding per untrusted remote address. `jobs` is None when NETSTAT_JOB_INFO was not readable."""
    states = tcp_states(connections)
    if not any(state.listening for state in states.values()):
        return [cannot_see(system)]
    established = [c for c in connections if states[c.tcp_state].established]
    # Addresses are judged as text and integers; objects are built only for the untrusted few.
    untrusted = trusted.untrusted_keys(c.remote_address for c in established)
    by_address: dict[AddressKey, list[NetstatConnection]] = defaultdict(list)
    for connection in established:
        key = untrusted.get(connection.remote_address)
        if key is not None:
            by_address[key].append(connection)
    # Only a job on an untrusted connection is ever looked up: a job's key holds its remote address.
    jobs_by_key = {job.key: job for job in jobs or () if job.remote_address in untrusted}
    return [
        _finding(system, address_text(key), rows, jobs_by_key, jobs_visible=jobs is not None)
        for key, rows in sorted(by_address.items(), key=lambda item: item[0])  # keys sort as (version, address)
    ]


def cannot_see(system: str, reason: str | None = None) -> Finding:
    """Connections could not be read, or the result is implausibly empty: never "no unknown connections"."""
    return netstat_not_visible(system, CHECK_ID, "Unknown connections", reason)


_PORTS = attrgetter("local_port", "remote_port")
_connection_key = attrgetter("local_address", "local_port", "remote_address", "remote_port")  # NetstatConnection.key


@lru_cache(maxsize=1024)  # a handful of services, named in every finding
def _service(port: int, name: str | None) -> str:
    return f"{port} ({name})" if name else str(port)


def _finding(
    system: str,
    text: str,
    rows: list[NetstatConnection],
    jobs_by_key: dict[tuple[str, int, str, int], ConnectionJob],
    jobs_visible: bool,
) -> Finding:
    connections: list[dict[str, Any]] = []
    services: set[str] = set()
    users: set[str] = set()
    idle: list[float] = []
    sent = received = 0
    for row in sorted(rows, key=_PORTS) if len(rows) > 1 else rows:
        job = jobs_by_key.get(_connection_key(row))
        user = job.authorization_name if job else None
        idle_seconds = float(row.idle_time) if row.idle_time is not None else None
        connections.append(
            {
                "local_address": row.local_address,
                "local_port": row.local_port,
                "local_port_name": row.local_port_name,
                "remote_port": row.remote_port,
                "idle_seconds": idle_seconds,
                "bytes_sent": row.bytes_sent_remotely,
                "bytes_received": row.bytes_received_locally,
                "user": user,
                "job": job.job_name if job else None,
            }
        )
        services.add(_service(row.local_port, row.local_port_name))
        if user:
            users.add(user)
        if idle_seconds is not None:
            idle.append(idle_seconds)
        sent += row.bytes_sent_remotely or 0
        received += row.bytes_received_locally or 0
    details = [f"Local port{'s' if len(services) > 1 else ''}: {', '.join(sorted(services))}"]
    if users:
        details.append(f"User{'s' if len(users) > 1 else ''}: {', '.join(sorted(users))}")
    details.append((f"Idle {min(idle):.0f}s; " if idle else "") + f"{sent:,} bytes sent, {received:,} received")
    if not jobs_visible:
        details.append(JOBS_NOT_VISIBLE)
    count = len(rows)
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="warning",
        subject=text,
        title=f"{count} connection{'s' if count > 1 else ''} from untrusted address {text}",
        details=tuple(details),
        facts={"remote_address": text, "connections": connections},
    )
