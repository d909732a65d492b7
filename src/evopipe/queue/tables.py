"""Queue and cost tables (created by :mod:`evopipe.queue.migrations`).

``run_queue``: one row per submitted run, leased by workers; ``tenant_budgets``: a tenant's
limit and its spent/reserved counters; ``cost_ledger``: one row per model call. Changing a
table here needs a new migration (the drift test in ``tests/store`` fails otherwise).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

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

QUEUE_TABLES = (run_queue,)
LEDGER_TABLES = (tenant_budgets, cost_ledger)
