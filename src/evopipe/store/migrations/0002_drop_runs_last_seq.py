"""0002 drop ``runs.last_seq``: the journal's next seq comes from ``MAX(seq)`` since ce90fbf.

That commit removed the NOT NULL column from the table definition without a migration, so
databases created before it still have it (and refuse every new run, which does not set it)
while newer ones do not, both recording 0001. Drop it where it is, leave the others alone.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import Connection, inspect

from evopipe.store.errors import MigrationError

NAME = "drop_runs_last_seq"


def upgrade(conn: Connection) -> None:
    """``ALTER TABLE runs DROP COLUMN last_seq`` if the column exists."""
    if "last_seq" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        return
    if conn.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise MigrationError(
            f"dropping runs.last_seq needs SQLite 3.35 or newer (this is {sqlite3.sqlite_version})"
        )
    conn.exec_driver_sql("ALTER TABLE runs DROP COLUMN last_seq")
