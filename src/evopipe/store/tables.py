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
    Table,
)

from evopipe.store.columns import Schema

schema = Schema()

schema_migrations = schema.table("""
    schema_migrations: the migration ledger, kept by evopipe.store.migrate
    area        str(64)
    version     int
    name        str(200)
    applied_at  float
    primary key pk_schema_migrations (area, version)
""")
"""The migration ledger, created and kept by :mod:`evopipe.store.migrate`."""

runs = schema.table("""
    runs: one row per run: spec, inputs, status, outputs, usage
    run_id            str(64)   key
    pipeline_name     str(200)
    spec_hash         str(128)
    spec_json         text
    inputs_json       text
    parent_run_id     str(64)   null
    status            str(32)
    error             text      null
    outputs_json      text      null
    usage_json        text      null
    created_at        float
    updated_at        float
    finished_at       float     null
    cancel_requested  bool      default=false
    index ix_runs_created_at (created_at)
    index ix_runs_status (status)
    index ix_runs_parent_run_id (parent_run_id)
    index ix_runs_spec_hash (spec_hash)
""")

events = schema.table("""
    events: the journal: every event of every run, in order
    run_id   str(64)   key
    seq      int       key
    type     str(64)
    step_id  str(200)  null
    attempt  int
    payload  text
    ts       float
""")

approvals = schema.table("""
    approvals: the decision on each approval step
    run_id      str(64)   key
    step_id     str(200)  key
    approved    bool
    comment     text      null
    decided_by  str(200)  null
    decided_at  float
""")

response_cache = schema.table("""
    response_cache: model responses by request hash
    key         str(128)  key
    value       text
    created_at  float
    index ix_response_cache_created_at (created_at)
""")

blobs = schema.table("""
    blobs: large values by content hash
    sha256      str(64)  key
    size        int
    data        bytes
    created_at  float
""")

blob_refs = schema.table("""
    blob_refs: who holds each blob (a blob with no holder is collected)
    sha256  str(64)   key
    owner   str(200)  key
    index ix_blob_refs_owner (owner)
""")

CORE_TABLES: tuple[Table, ...] = (runs, events, approvals, response_cache, blobs, blob_refs)
"""The core tables, built by the store's migrations (``schema_migrations`` by the runner)."""
