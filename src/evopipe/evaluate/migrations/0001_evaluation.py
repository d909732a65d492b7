"""0001 evaluation: datasets, evaluation runs and their per-example results.

Frozen: the tables exactly as this migration created them, defined here and never imported
from the live ``tables.py`` (a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Float, Index, Integer, MetaData, String, Table, Text

NAME = "evaluation"

metadata = MetaData()

datasets = Table(
    "datasets",
    metadata,
    Column("content_hash", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("source", Text, nullable=False),
    Column("expected_field", String(200), nullable=False),
    Column("mapping_json", Text, nullable=False),
    Column("splits_json", Text, nullable=False),
    Column("n_examples", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("eval_id", String(64), primary_key=True),
    Column("pipeline_name", String(200), nullable=False),
    Column("spec_hash", String(64), nullable=False),
    Column("dataset_hash", String(64), nullable=False),
    Column("split", String(32), nullable=False),
    Column("metrics_json", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("planned", Integer, nullable=False),
    Column("n", Integer, nullable=True),
    Column("objectives_json", Text, nullable=True),
    Column("stopped", String(32), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Index("ix_eval_runs_spec_dataset", "spec_hash", "dataset_hash", "split"),
)

eval_examples = Table(
    "eval_examples",
    metadata,
    Column("eval_id", String(64), primary_key=True),
    Column("example_id", String(200), primary_key=True),
    Column("run_id", String(64), nullable=True),
    Column("inputs_json", Text, nullable=False),
    Column("outputs_json", Text, nullable=False),
    Column("expected_json", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("scores_json", Text, nullable=False),
    Column("feedback", Text, nullable=True),
    Column("success", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("calls", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("latency_ms", Float, nullable=False),
)


def upgrade(conn: Connection) -> None:
    """Create the evaluation tables."""
    metadata.create_all(conn, tables=[datasets, eval_runs, eval_examples], checkfirst=False)
