"""0001 evaluation: datasets, evaluation runs and their per-example results.

Frozen: the tables exactly as this migration created them, as data in ``0001_evaluation.json``
beside this module (made by :func:`evopipe.store.ddl.snapshot`; never the live ``tables.py``;
a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.store.ddl import create_snapshot

NAME = "evaluation"


def upgrade(conn: Connection) -> None:
    """Create the evaluation tables."""
    create_snapshot(conn, __file__)
