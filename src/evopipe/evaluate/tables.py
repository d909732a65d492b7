"""Evaluation tables (created by :mod:`evopipe.evaluate.migrations`; a change needs a new one).

``datasets`` registers each dataset version by content hash; ``eval_runs`` holds one row per
evaluation (pipeline, split, metrics, objectives); ``eval_examples`` one row per scored example
(inputs, outputs, expected, score, feedback, run id = trace id, tokens, cost, latency, error).
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

datasets = schema.table("""
    datasets: every dataset version, by the hash of its content
    content_hash    str(64)   key
    name            str(200)
    source          text
    expected_field  str(200)
    mapping_json    text
    splits_json     text
    n_examples      int
    created_at      float
""")

eval_runs = schema.table("""
    eval_runs: one row per evaluation: pipeline, split, metrics, objectives
    eval_id          str(64)   key
    pipeline_name    str(200)
    spec_hash        str(64)
    dataset_hash     str(64)
    split            str(32)
    metrics_json     text
    status           str(32)
    planned          int
    n                int       null
    objectives_json  text      null
    stopped          str(32)   null
    created_at       float
    finished_at      float     null
    index ix_eval_runs_spec_dataset (spec_hash, dataset_hash, split)
""")

eval_examples = schema.table("""
    eval_examples: one row per scored example; its run id is the trace id
    eval_id        str(64)   key
    example_id     str(200)  key
    run_id         str(64)   null
    inputs_json    text
    outputs_json   text
    expected_json  text
    score          float
    scores_json    text
    feedback       text      null
    success        int
    error          text      null
    input_tokens   int
    output_tokens  int
    calls          int
    cost_usd       float
    latency_ms     float
""")

EVALUATION_TABLES = (datasets, eval_runs, eval_examples)
