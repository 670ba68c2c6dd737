"""A large demo IBM i for tests and benchmarks: the seeded story plus N connections and N output queues.

Written straight into the demo's SQLite files (a benchmark's set-up, not a product path); the product
then reads them through the demo driver's DB-API connection like any demo system. The same size and
seed always give the same system.

- connections: 90 % from the trusted networks of `TRUSTED` (office 10/8, VPN 192.168/16), 10 % from
  public addresses, two connections per untrusted address; local ports mix plaintext (23, 21, 80, 8471,
  8476, 446) and TLS (992, 9471, 9476) services;
- output queues: 50 to a library; one queue in ten exposes its spooled files (DSPDTA(*YES) with
  *PUBLIC *USE, or AUTCHK(*DTAAUT) with *PUBLIC *CHANGE), one in ten is OPRCTL(*YES) only, the rest
  are closed; each has its *PUBLIC and its owner's row in OBJECT_PRIVILEGES;
- the audit journal (`fill_journal`): PW, CP, CD and AF entries before the seeded story, for bench/journal.py.
"""

from __future__ import annotations

import ipaddress
import random
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.ibmi.audit_journal import ENTRY_TYPES
from bot.ibmi.drivers.demo.schema import journal_columns, journal_table
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
    with _one_transaction(folder) as db:
        _insert_connections(db, connection_rows(size, seed))
        _insert_queues(db, queue_rows(size if queues is None else queues))


@contextmanager
def _one_transaction(folder: Path) -> Iterator[sqlite3.Connection]:
    """The seeded demo's libraries, written in one transaction."""
    ensure_demo_system(folder)
    db = open_libraries(folder)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield db
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


# --- The audit journal -----------------------------------------------------------------------------------------

JOURNAL_CHUNK = 50_000  # entries generated and written at a time, so the filler's memory does not grow with count
_PROFILES_TRIED = ("QSECOFR", "QSYSOPR", "ADMIN", "QPGMR", "ROOT", "TEST", "ORACLE", "QUSER")
_SENSITIVE = (("PAYLIB", "PAYROLL", "*OUTQ"), ("HRLIB", "HRREPORTS", "*OUTQ"), ("QSYS", "QAUDJRN", "*JRN"))
_COMMANDS = ("CHGSMTPA ALWRLY(*LIST)", "ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.2.0')", "WRKACTJOB", "DSPLOG")
_FLAGS_OF = {"": ("N",) * 8, "*SPLCTL": ("N", "N", "N", "N", "Y", "N", "N", "N"), "*JOBCTL": ("N", "Y") + ("N",) * 6}


def fill_journal(folder: Path, count: int, seed: int = 11, span: float = 7 * 86_400.0) -> None:
    """The seeded demo in `folder`, its audit journal holding `count` more PW, CP, CD and AF entries spread over the
    `span` seconds before the journal's first entry (so the seeded story stays the newest): failed sign-ons from
    many public and office addresses against many profiles, with a burst from one address now and then, authority
    failures, commands and profile changes. Written in one transaction, a chunk at a time; the story's entries are
    renumbered after them, so sequence order stays timestamp order. The same count and seed give the same journal."""
    with _one_transaction(folder) as db:
        firsts = [db.execute(f"SELECT MIN(ENTRY_TIMESTAMP) FROM {journal_table(t)}").fetchone()[0] for t in ENTRY_TYPES]
        first = min((timestamp for timestamp in firsts if timestamp), default=None)
        for entry_type in ENTRY_TYPES:  # the existing entries move after the new ones, in two steps to stay unique
            table = journal_table(entry_type)
            db.execute(f"UPDATE {table} SET SEQUENCE_NUMBER = -(SEQUENCE_NUMBER + ?)", (count,))
            db.execute(f"UPDATE {table} SET SEQUENCE_NUMBER = -SEQUENCE_NUMBER")
        end = datetime.fromisoformat(first) if first else datetime.now(UTC).replace(tzinfo=None)
        rows = _journal_rows(count, random.Random(seed), end - timedelta(seconds=span), span)
        statements = {
            t: f"INSERT INTO {journal_table(t)} VALUES ({', '.join('?' * len(journal_columns(t)))})"
            for t in ENTRY_TYPES
        }
        for chunk in rows:
            for entry_type, typed in chunk.items():
                db.executemany(statements[entry_type], typed)


def _journal_rows(count: int, rng: random.Random, start: datetime, span: float) -> Iterator[dict[str, list[tuple]]]:
    """The entries, a chunk at a time, by entry type: rows in the column order of the demo's tables."""
    attackers = [public_address(rng) for _ in range(500)]
    office = [f"10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(300)]
    users = [f"USER{index:04d}" for index in range(500)]
    jobs = {user: f"{100_000 + index * 7:06d}" for index, user in enumerate(users)}
    step = span / max(count, 1)
    burst_left, burst_address, burst_profile = 0, "", ""
    chunk: dict[str, list[tuple]] = {t: [] for t in ENTRY_TYPES}
    for index in range(count):
        at = (start + timedelta(seconds=step * index)).isoformat(sep=" ", timespec="microseconds")
        sequence = index + 1
        if burst_left == 0 and rng.random() < 0.0005:  # a burst: one address, 20 to 300 tries
            burst_left, burst_address, burst_profile = (
                rng.randint(20, 300),
                rng.choice(attackers),
                rng.choice(_PROFILES_TRIED),
            )
        roll = rng.random()
        if burst_left:
            burst_left -= 1
            profile = burst_profile if rng.random() < 0.8 else rng.choice(_PROFILES_TRIED)
            chunk["PW"].append(_pw(at, sequence, burst_address, profile, rng))
        elif roll < 0.5:
            address = rng.choice(attackers) if roll < 0.2 else rng.choice(office)
            profile = rng.choice(_PROFILES_TRIED) if roll < 0.2 else rng.choice(users)
            chunk["PW"].append(_pw(at, sequence, address, profile, rng))
        elif roll < 0.7:
            user = rng.choice(users)
            library, name, kind = (
                rng.choice(_SENSITIVE)
                if rng.random() < 0.3
                else (f"LIB{rng.randint(0, 999):05d}", f"Q{rng.randint(0, 9_999_999):07d}", "*OUTQ")
            )
            header = _header(at, sequence, user, "QZDASOINIT", "QUSER", jobs[user], rng.choice(office))
            chunk["AF"].append((*header, "A", "Not authorized to object", library, name, kind, None))
        elif roll < 0.9:
            user = rng.choice(("QSECOFR", "QSYSOPR", *users[:20]))
            command = rng.choice(_COMMANDS)
            header = _header(at, sequence, user, "QPADEV0002", user, jobs.get(user, "100001"), rng.choice(office))
            where = rng.choice(("N", "N", "B", "E"))
            name = command.split()[0]
            chunk["CD"].append((*header, "C", "Command run", "QSYS", name, "*CMD", where, None, command))
        else:
            profile = rng.choice(users)
            held = rng.choice(("", "", "", "*SPLCTL", "*JOBCTL"))
            header = _header(at, sequence, "QSECOFR", "QPADEV0002", "QSECOFR", "100001", rng.choice(office))
            command_type = "CRT" if rng.random() < 0.1 else "CHG"
            chunk["CP"].append((*header, "A", profile, command_type, "*ENABLED", *_FLAGS_OF[held]))
        if sequence % JOURNAL_CHUNK == 0:
            yield chunk
            chunk = {t: [] for t in ENTRY_TYPES}
    yield chunk


def _header(at: str, sequence: int, user: str, job: str, job_user: str, number: str, address: str) -> tuple:
    port = 49152 + sequence % 16000
    return (at, sequence, user, f"{number}/{job_user}/{job}", job, job_user, number, None, None, address, port)


def _pw(at: str, sequence: int, address: str, profile: str, rng: random.Random) -> tuple:
    code, detail = ("P", "Password not valid") if rng.random() < 0.85 else ("U", "User name not valid")
    device = f"QPADEV{sequence % 97:04d}"
    return (
        *_header(at, sequence, "QUSER", device, "QUSER", f"{sequence % 900_000 + 100_000:06d}", address),
        code,
        detail,
        profile,
        device,
    )
