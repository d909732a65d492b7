"""0004 evolution: candidates, evaluations, evolution runs, proposals, and the registry."""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.evolve import tables

NAME = "evolution"


def upgrade(conn: Connection) -> None:
    """Create the evolution and registry tables (see :mod:`evopipe.evolve.tables`)."""
    tables.metadata.create_all(conn, tables=list(tables.EVOLUTION_TABLES))
