"""A large demo IBM i for tests and benchmarks: the seeded story plus N connections and N output queues.

Written straight into the demo's SQLite files (a benchmark's set-up, not a product path); the product
then reads them through the demo driver's DB-API connection like any demo system. The same size and
seed always give the same system.

- connections: 90 % from the trusted networks of `TRUSTED` (office 10/8, VPN 192.168/16), 10 % from
  public addresses, two connections per untrusted address; local ports mix plaintext (23, 21, 80, 8471,
  8476, 446) and TLS (992, 9471, 9476) services;
- output queues: 50 to a library; one queue in ten exposes its spooled files (DSPDTA(*YES) with
  *PUBLIC *USE, or AUTCHK(*DTAAUT) with *PUBLIC *CHANGE), one in ten is OPRCTL(*YES) only, the rest
  are closed; each has its *PUBLIC and its owner's row in OBJECT_PRIVILEGES.
"""

from __future__ import annotations

import ipaddress
import random
import sqlite3
import zlib
from pathlib import Path

from bot.ibmi.drivers.demo.seed import HOST
from bot.ibmi.drivers.demo.store import ensure_demo_system, open_libraries

# Ten trusted networks, a realistic count: the office and VPN ranges the connections come from, and others.
TRUSTED = (
    "10.0.0.0/8",
    "192.168.0.0/16",
    "172.16.0.0/12",
    "203.0.113.0/24",
    "198.51.100.0/24",
    "100.64.0.0/10",
    "2001:db8::/32",
    "fd00::/8",
    "169.254.0.0/16",
    "192.0.2.0/24",
)
QUEUES_PER_LIBRARY = 50
_PORTS = ((23, "telnet"), (21, "ftp-control"), (80, "www-http"), (8471, "as-database"), (8476, "as-signon"))
_PORTS += ((446, "drda"), (992, "telnet-ssl"), (9471, "as-database-s"), (9476, "as-signon-s"))
_PORTS += ((992, "telnet-ssl"), (9471, "as-database-s"))  # TLS commoner than plaintext


def public_address(rng: random.Random) -> str:
    """A public IPv4 address outside every network of TRUSTED."""
    while True:
        address = ipaddress.IPv4Address(rng.randint(0x0B000000, 0xDF000000))
        if address.is_global and not any(address in ipaddress.ip_network(n) for n in TRUSTED[:6]):
            return str(address)


def connection_rows(size: int, seed: int = 11) -> list[tuple[str, int, int, str, str]]:
    """`size` established connections: (remote address, remote port, local port, port name, user)."""
    rng = random.Random(seed)
    rows = []
    untrusted = ""
    for index in range(size):
        if index % 10 == 9:  # one in ten from a public address, two connections each
            untrusted = public_address(rng) if index % 20 == 9 else untrusted
            address = untrusted
        elif index % 50 == 3:  # IPv4-mapped, as NETSTAT shows an IPv4 peer of an IPv6 socket
            address = f"::ffff:10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        elif index % 50 == 5:  # IPv6, trusted or not
            prefix = "2001:db8" if rng.random() < 0.5 else "2a00:1450"
            address = f"{prefix}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
        elif index % 500 == 7:
            address = "127.0.0.1"
        elif rng.random() < 0.7:
            address = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        else:
            address = f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        local_port, name = _PORTS[index % len(_PORTS)]
        rows.append((address, 1024 + index % 64000, local_port, name, f"USER{index % 500:04d}"))
    return rows


def queue_rows(size: int) -> list[tuple[str, str, int, str, str, str, str]]:
    """`size` output queues: (library, name, files, DSPDTA, OPRCTL, AUTCHK, *PUBLIC)."""
    rows = []
    for index in range(size):
        library = f"LIB{index // QUEUES_PER_LIBRARY:05d}"
        name = f"Q{index:07d}"
        files = index % 150
        kind = index % 10
        if kind == 0:
            rows.append((library, name, files, "*YES", "*NO", "*OWNER", "*USE"))
        elif kind == 1:
            rows.append((library, name, files, "*NO", "*NO", "*DTAAUT", "*CHANGE"))
        elif kind == 2:
            rows.append((library, name, files, "*NO", "*YES", "*OWNER", "*EXCLUDE"))
        else:
            rows.append((library, name, files, "*OWNER", "*NO", "*OWNER", "*USE"))
    return rows


def fill(folder: Path, size: int, seed: int = 11, queues: int | None = None) -> None:
    """The seeded demo in `folder`, plus `size` connections and `size` output queues (or `queues`)."""
    ensure_demo_system(folder)
    db = open_libraries(folder)
    try:
        db.execute("BEGIN IMMEDIATE")
        _insert_connections(db, connection_rows(size, seed))
        _insert_queues(db, queue_rows(size if queues is None else queues))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def _insert_connections(db: sqlite3.Connection, rows: list[tuple[str, int, int, str, str]]) -> None:
    netstat = []
    jobs = []
    for address, port, local_port, name, user in rows:
        number = 100_000 + zlib.crc32(f"{address}:{port}".encode()) % 900_000
        kind = "IPV6" if ":" in address else "IPV4"
        local = address if address == "127.0.0.1" else HOST
        netstat.append((kind, address, port, local, local_port, name, 12.5, "QUSER", 1_000, 2_000))
        jobs.append((kind, address, port, local, local_port, name, user, f"{number:06d}/{user}/QZDASOINIT"))
    db.executemany(
        "INSERT INTO QSYS2.NETSTAT_INFO VALUES (?, ?, ?, NULL, ?, ?, ?, 'TCP', 'ESTABLISHED', ?, ?, ?, ?)", netstat
    )
    db.executemany("INSERT INTO QSYS2.NETSTAT_JOB_INFO VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL)", jobs)


def _insert_queues(db: sqlite3.Connection, rows: list[tuple[str, str, int, str, str, str, str]]) -> None:
    db.executemany(
        "INSERT INTO QSYS2.OUTPUT_QUEUE_INFO (OUTPUT_QUEUE_NAME, OUTPUT_QUEUE_LIBRARY_NAME, NUMBER_OF_FILES,"
        " DISPLAY_ANY_FILE, OPERATOR_CONTROLLED, AUTHORITY_TO_CHECK, OUTPUT_QUEUE_STATUS, TEXT_DESCRIPTION)"
        " VALUES (?, ?, ?, ?, ?, ?, 'RELEASED', 'Benchmark queue')",
        [(name, library, files, dspdta, oprctl, autchk) for library, name, files, dspdta, oprctl, autchk, _ in rows],
    )
    grants = []
    for library, name, _files, _dspdta, _oprctl, _autchk, public in rows:
        grants.append((library, name, library, name, "*PUBLIC", public, "QSYS"))
        grants.append((library, name, library, name, "QSYS", "*ALL", "QSYS"))
    db.executemany("INSERT INTO QSYS2.OBJECT_PRIVILEGES VALUES (?, ?, ?, ?, '*OUTQ', ?, ?, ?)", grants)
