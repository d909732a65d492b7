"""Generation tables (created by :mod:`evopipe.genesis.migrations`; a change needs a new one).

``generations``: one row per ``evopipe generate`` (request, model, outcome, final spec);
``generation_rounds``: each round's draft, deterministic repairs and diagnostics.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

generations = Table(
    "generations",
    metadata,
    Column("generation_id", String(32), primary_key=True),
    Column("request", Text, nullable=False),
    Column("model", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("name", String(100), nullable=True),
    Column("spec_yaml", Text, nullable=True),
    Column("spec_hash", String(64), nullable=True),
    Column("rounds", Integer, nullable=False),
    Column("first_try_valid", Integer, nullable=False),
    Column("source", String(16), nullable=True),
    Column("pattern", String(100), nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_s", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_generations_created", "created_at"),
)

generation_rounds = Table(
    "generation_rounds",
    metadata,
    Column("generation_id", String(32), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("source", String(16), nullable=False),
    Column("valid", Integer, nullable=False),
    Column("draft_json", Text, nullable=True),
    Column("repaired_json", Text, nullable=True),
    Column("repairs_json", Text, nullable=False),
    Column("first_diagnostics_json", Text, nullable=False),
    Column("diagnostics_json", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("duration_s", Float, nullable=False),
)

GENERATION_TABLES = (generations, generation_rounds)
