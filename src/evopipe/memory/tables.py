"""Collective-memory tables (created by :mod:`evopipe.memory.migrations`; a change needs a new
migration).

``memory_patterns``: every promoted champion and certified pipeline, with its spec, the task it
served and its fitness (the pattern DB); ``memory_failures``: failed runs, rejected offspring
and failed generation rounds with their cause (the failure museum); ``memory_innovations``:
structures that improved fitness for the first time, with the lineage that found them.
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

memory_patterns = schema.table("""
    memory_patterns: promoted champions and certified pipelines (the pattern DB)
    pattern_id   str(64)   key
    name         str(100)
    origin       str(16)
    task         text
    spec_json    text
    kinds        text
    n_steps      int
    fitness      float     null
    source_ref   str(200)
    reuse_count  int
    created_at   float
    index ix_memory_patterns_name (name)
""")

memory_failures = schema.table("""
    memory_failures: failed runs, rejected offspring, failed drafts (the failure museum)
    failure_id    str(32)   key
    cause         str(32)
    origin        str(32)
    subject       str(200)
    message       text
    example_json  text
    created_at    float
    index ix_memory_failures_cause (cause)
""")

memory_innovations = schema.table("""
    memory_innovations: structures that first improved fitness, with their lineage
    signature     str(64)  key
    structure     text
    candidate_id  str(64)
    run_id        str(64)
    operators     text
    lineage_json  text
    fitness_gain  float
    created_at    float
""")

MEMORY_TABLES = (memory_patterns, memory_failures, memory_innovations)
