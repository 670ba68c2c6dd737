"""The bot's SQLite database: sqlite-utils, one module per table family, ordered migrations."""

from storage.database import SCHEMA_VERSION, NewerDatabaseError, Storage, StorageError, open_database

__all__ = ["SCHEMA_VERSION", "NewerDatabaseError", "Storage", "StorageError", "open_database"]
