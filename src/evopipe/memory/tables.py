"""Collective-memory tables (created by :mod:`evopipe.memory.migrations`; a change needs a new
migration).

``memory_patterns``: every promoted champion and certified pipeline, with its spec, the task it
served and its fitness (the pattern DB); ``memory_failures``: failed runs, rejected offspring
and failed generation rounds with their cause (the failure museum); ``memory_innovations``:
structures that improved fitness for the first time, with the lineage that found them.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

memory_patterns = Table(
    "memory_patterns",
    metadata,
    Column("pattern_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("task", Text, nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("kinds", Text, nullable=False),
    Column("n_steps", Integer, nullable=False),
    Column("fitness", Float, nullable=True),
    Column("source_ref", String(200), nullable=False),
    Column("reuse_count", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_memory_patterns_name", "name"),
)

memory_failures = Table(
    "memory_failures",
    metadata,
    Column("failure_id", String(32), primary_key=True),
    Column("cause", String(32), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("example_json", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_memory_failures_cause", "cause"),
)

memory_innovations = Table(
    "memory_innovations",
    metadata,
    Column("signature", String(64), primary_key=True),
    Column("structure", Text, nullable=False),
    Column("candidate_id", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("operators", Text, nullable=False),
    Column("lineage_json", Text, nullable=False),
    Column("fitness_gain", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

MEMORY_TABLES = (memory_patterns, memory_failures, memory_innovations)
