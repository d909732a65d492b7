"""Evolution tables (created by :mod:`evopipe.evolve.migrations`; the registry's tables are
:mod:`evopipe.orchestrate.tables`).

Candidates and their evaluations are global, keyed by the candidate id (the spec hash) and the
dataset key, so the same spec is never evaluated twice on the same data, whichever run asks.
Changing a table here needs a new migration (the drift test in ``tests/store`` fails otherwise).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

evo_runs = Table(
    "evo_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("pipeline_name", String(200), nullable=False),
    Column("seed_id", String(128), nullable=False),
    Column("config_json", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("summary_json", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

evo_specs = Table(
    "evo_specs",
    metadata,
    Column("candidate_id", String(128), primary_key=True),
    Column("spec_json", Text, nullable=False),
    Column("traits_json", Text, nullable=False),
)

evo_evaluations = Table(
    "evo_evaluations",
    metadata,
    Column("candidate_id", String(128), primary_key=True),
    Column("dataset_key", String(128), primary_key=True),
    Column("split", String(32), primary_key=True),
    Column("record_json", Text, nullable=False),
    Column("calls", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

evo_members = Table(
    "evo_members",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("candidate_id", String(128), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("parents_json", Text, nullable=False),
    Column("operators_json", Text, nullable=False),
    Column("diff", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Index("ix_evo_members_run_seq", "run_id", "seq"),
)

evo_proposals = Table(
    "evo_proposals",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("operator", String(64), nullable=False),
    Column("parents_json", Text, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("child_id", String(128), nullable=True),
    Column("spec_json", Text, nullable=True),
    Column("feedback_id", String(128), nullable=True),
    Column("calls", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
)

evo_state = Table(
    "evo_state",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("population_json", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

EVOLUTION_TABLES = (
    evo_runs,
    evo_specs,
    evo_evaluations,
    evo_members,
    evo_proposals,
    evo_state,
)
