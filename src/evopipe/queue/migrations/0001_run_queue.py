"""0001 run_queue: submitted runs, leased by workers.

Frozen: the table exactly as this migration created it, defined here and never imported from
the live ``tables.py`` (a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

NAME = "run_queue"

metadata = MetaData()

run_queue = Table(
    "run_queue",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("tenant", String(200), nullable=False),
    Column("thread_key", String(200), nullable=True),
    Column("strategy", String(16), nullable=False),
    Column("target", Text, nullable=True),
    Column("spec_json", Text, nullable=False),
    Column("inputs_json", Text, nullable=False),
    Column("model", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("outcome", String(32), nullable=True),
    Column("error", Text, nullable=True),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_expires", Float, nullable=True),
    Column("heartbeat_at", Float, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Index("ux_run_queue_run_id", "run_id", unique=True),
    Index("ix_run_queue_status_seq", "status", "seq"),
    Index("ix_run_queue_key", "tenant", "thread_key", "status"),
    Index("ix_run_queue_tenant_seq", "tenant", "seq"),
)


def upgrade(conn: Connection) -> None:
    """Create the run queue."""
    metadata.create_all(conn, tables=[run_queue], checkfirst=False)
