"""0001 core: runs, the event journal, approvals, the response cache and blobs."""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.store import tables

NAME = "core"


def upgrade(conn: Connection) -> None:
    """Create the core tables (see :mod:`evopipe.store.tables`)."""
    tables.metadata.create_all(conn, tables=list(tables.CORE_TABLES))
