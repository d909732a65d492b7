"""0001 generations: every ``evopipe generate`` with its rounds (drafts and diagnostics).

Frozen: the tables exactly as this migration created them, as data in ``0001_generations.json``
beside this module (made by :func:`evopipe.store.ddl.snapshot`; never the live ``tables.py``;
a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.store.ddl import create_snapshot

NAME = "generations"


def upgrade(conn: Connection) -> None:
    """Create the generation tables."""
    create_snapshot(conn, __file__)
