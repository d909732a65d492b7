"""0001 core: runs (with ``last_seq``, dropped by 0002), events, approvals, cache and blobs.

Frozen: the tables exactly as this migration created them, defined here and never imported
from the live ``tables.py`` (a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

NAME = "core"

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("pipeline_name", String(200), nullable=False),
    Column("spec_hash", String(128), nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("inputs_json", Text, nullable=False),
    Column("parent_run_id", String(64), nullable=True),
    Column("status", String(32), nullable=False),
    Column("error", Text, nullable=True),
    Column("outputs_json", Text, nullable=True),
    Column("usage_json", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("cancel_requested", Boolean, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Index("ix_runs_created_at", "created_at"),
    Index("ix_runs_status", "status"),
    Index("ix_runs_parent_run_id", "parent_run_id"),
    Index("ix_runs_spec_hash", "spec_hash"),
)

events = Table(
    "events",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("type", String(64), nullable=False),
    Column("step_id", String(200), nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("ts", Float, nullable=False),
)

approvals = Table(
    "approvals",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("step_id", String(200), primary_key=True),
    Column("approved", Boolean, nullable=False),
    Column("comment", Text, nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", Float, nullable=False),
)

response_cache = Table(
    "response_cache",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_response_cache_created_at", "created_at"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
)

blob_refs = Table(
    "blob_refs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("owner", String(200), primary_key=True),
    Index("ix_blob_refs_owner", "owner"),
)


def upgrade(conn: Connection) -> None:
    """Create the core tables as the first release did."""
    metadata.create_all(
        conn, tables=[runs, events, approvals, response_cache, blobs, blob_refs], checkfirst=False
    )
