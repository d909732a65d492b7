"""0001 core: runs (with ``last_seq``, dropped by 0002), events, approvals, cache and blobs.

Frozen: the tables exactly as this migration created them, as data in ``0001_core.json``
beside this module (made by :func:`evopipe.store.ddl.snapshot`; never the live ``tables.py``;
a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.store.ddl import create_snapshot

NAME = "core"


def upgrade(conn: Connection) -> None:
    """Create the core tables as the first release did."""
    create_snapshot(conn, __file__)
