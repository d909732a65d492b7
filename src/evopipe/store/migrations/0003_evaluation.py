"""0003 evaluation: datasets, evaluation runs and their per-example results."""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.evaluate import tables

NAME = "evaluation"


def upgrade(conn: Connection) -> None:
    """Create the evaluation tables (see :mod:`evopipe.evaluate.tables`)."""
    tables.metadata.create_all(conn, tables=list(tables.EVALUATION_TABLES))
