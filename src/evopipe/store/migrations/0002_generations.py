"""0002 generations: every ``evopipe generate`` with its rounds (drafts and diagnostics)."""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.genesis import tables

NAME = "generations"


def upgrade(conn: Connection) -> None:
    """Create the generation tables (see :mod:`evopipe.genesis.tables`)."""
    tables.metadata.create_all(conn, tables=list(tables.GENERATION_TABLES))
