"""The schema of the bot's database: one ordered list of named migrations.

Rules for adding a table family (or changing one):

- append a function `mNNN_<what>` decorated with `@migrations()` at the end of this file;
- never rename, reorder, edit or delete a migration that has been released: a database
  records the names it has applied, and a name this code does not know means the database
  was written by a newer ibmi-warden (see `storage.database`);
- write the SQL out here instead of calling code from the table-family modules, so that a
  migration keeps doing exactly what it did when it was released;
- keep every migration transactional (no VACUUM): `open_database` applies them all in one
  transaction, so two processes starting together cannot both migrate.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "ibmi-warden"

migrations = Migrations(MIGRATION_SET)


@migrations()
def m001_check_runs(db: Database) -> None:
    """Every check run, and whether each system answered (storage/check_runs.py)."""
    db.execute(
        """
        CREATE TABLE check_runs (
            id INTEGER PRIMARY KEY,
            system TEXT NOT NULL,
            check_id TEXT NOT NULL,
            started_at TEXT NOT NULL,
            duration REAL NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'findings', 'error')),
            findings INTEGER NOT NULL DEFAULT 0,
            error TEXT
        )
        """
    )
    db.execute("CREATE INDEX check_runs_latest ON check_runs (system, check_id, started_at)")
    db.execute(
        """
        CREATE TABLE system_reachability (
            system TEXT PRIMARY KEY,
            reachable INTEGER NOT NULL,
            error TEXT,
            checked_at TEXT NOT NULL
        )
        """
    )


def migration_names() -> list[str]:
    """The names of every migration this code knows, in the order they apply."""
    return [migration.name for migration in migrations.pending(Database(memory=True))]
