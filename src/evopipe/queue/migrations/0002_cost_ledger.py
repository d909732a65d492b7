"""0002 cost_ledger: tenant budgets and one ledger row per model call.

Frozen: the tables exactly as this migration created them, defined here and never imported from
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
)

NAME = "cost_ledger"

metadata = MetaData()

tenant_budgets = Table(
    "tenant_budgets",
    metadata,
    Column("tenant", String(200), primary_key=True),
    Column("limit_usd", Float, nullable=True),
    Column("spent_usd", Float, nullable=False),
    Column("reserved_usd", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

cost_ledger = Table(
    "cost_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(200), nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("step_id", String(500), nullable=True),
    Column("model", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=True),
    Column("reserved_usd", Float, nullable=False),
    Column("cached", Boolean, nullable=False),
    Column("admitted_at", Float, nullable=False),
    Column("settled_at", Float, nullable=True),
    Index("ix_cost_ledger_tenant", "tenant", "id"),
    Index("ix_cost_ledger_run", "run_id", "status"),
)


def upgrade(conn: Connection) -> None:
    """Create the budget and ledger tables."""
    metadata.create_all(conn, tables=[tenant_budgets, cost_ledger], checkfirst=False)
