"""0001 registry: promoted versions, the champion pointer and its history.

Frozen: the tables exactly as this migration created them, as data in ``0001_registry.json``
beside this module (made by :func:`evopipe.store.ddl.snapshot`; never the live ``tables.py``;
a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.store.ddl import create_snapshot

NAME = "registry"


def upgrade(conn: Connection) -> None:
    """Create the registry tables."""
    create_snapshot(conn, __file__)
