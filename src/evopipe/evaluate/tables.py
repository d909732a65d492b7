"""Evaluation tables (created by :mod:`evopipe.evaluate.migrations`; a change needs a new one).

``datasets`` registers each dataset version by content hash; ``eval_runs`` holds one row per
evaluation (pipeline, split, metrics, objectives); ``eval_examples`` one row per scored example
(inputs, outputs, expected, score, feedback, run id = trace id, tokens, cost, latency, error).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

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

EVALUATION_TABLES = (datasets, eval_runs, eval_examples)
