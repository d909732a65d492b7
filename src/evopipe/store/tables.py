"""Core tables of the store, as SQLAlchemy Core ``Table`` objects.

Times are UNIX epoch seconds (``Float``) so they compare cheaply and identically on SQLite and
PostgreSQL; JSON documents are compact JSON text. Other areas (genesis, evaluate, evolve,
orchestrate) define their own tables in their own packages and create them in their own
migrations; they must not add columns here. These are the LIVE definitions the code queries;
the migrations in :mod:`evopipe.store.migrations` carry their own frozen copies. Changing a
table here needs a new migration (the drift test in ``tests/store`` fails otherwise) and an
update of the pinned schema in ``tests/store/test_store_schema.py``.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("area", String(64), nullable=False),
    Column("version", Integer, nullable=False, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", Float, nullable=False),
    PrimaryKeyConstraint("area", "version", name="pk_schema_migrations"),
)
"""The migration ledger, created and kept by :mod:`evopipe.store.migrate`."""

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
    Column("cancel_requested", Boolean, nullable=False, default=False),
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

CORE_TABLES: tuple[Table, ...] = (runs, events, approvals, response_cache, blobs, blob_refs)
"""The core tables, built by the store's migrations (``schema_migrations`` by the runner)."""
