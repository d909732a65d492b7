"""0001 evolution: evolution runs, candidate specs and evaluations, members, proposals, state.

Frozen: the tables exactly as this migration created them, as data in ``0001_evolution.json``
beside this module (made by :func:`evopipe.store.ddl.snapshot`; never the live ``tables.py``;
a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.store.ddl import create_snapshot

NAME = "evolution"


def upgrade(conn: Connection) -> None:
    """Create the evolution tables."""
    create_snapshot(conn, __file__)
