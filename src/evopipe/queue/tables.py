"""Queue and cost tables (created by :mod:`evopipe.queue.migrations`).

``run_queue``: one row per submitted run, leased by workers; ``tenant_budgets``: a tenant's
limit and its spent/reserved counters; ``cost_ledger``: one row per model call. Changing a
table here needs a new migration (the drift test in ``tests/store`` fails otherwise).
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

run_queue = schema.table("""
    run_queue: one row per submitted run, leased by workers
    seq               int       key auto
    run_id            str(64)
    tenant            str(200)
    thread_key        str(200)  null
    strategy          str(16)
    target            text      null
    spec_json         text
    inputs_json       text
    model             str(200)  null
    status            str(16)
    outcome           str(32)   null
    error             text      null
    lease_owner       str(200)  null
    lease_expires     float     null
    heartbeat_at      float     null
    attempts          int
    cancel_requested  bool
    created_at        float
    started_at        float     null
    finished_at       float     null
    unique index ux_run_queue_run_id (run_id)
    index ix_run_queue_status_seq (status, seq)
    index ix_run_queue_key (tenant, thread_key, status)
    index ix_run_queue_tenant_seq (tenant, seq)
""")

tenant_budgets = schema.table("""
    tenant_budgets: a tenant's limit and its spent and reserved counters
    tenant        str(200)  key
    limit_usd     float     null
    spent_usd     float
    reserved_usd  float
    updated_at    float
""")

cost_ledger = schema.table("""
    cost_ledger: one row per model call, reserved then settled
    id             int       key auto
    tenant         str(200)
    run_id         str(64)   null
    step_id        str(500)  null
    model          str(200)
    status         str(16)
    input_tokens   int
    output_tokens  int
    cost_usd       float     null
    reserved_usd   float
    cached         bool
    admitted_at    float
    settled_at     float     null
    index ix_cost_ledger_tenant (tenant, id)
    index ix_cost_ledger_run (run_id, status)
""")

QUEUE_TABLES = (run_queue,)
LEDGER_TABLES = (tenant_budgets, cost_ledger)
