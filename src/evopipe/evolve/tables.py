"""Evolution tables (created by :mod:`evopipe.evolve.migrations`; the registry's tables are
:mod:`evopipe.orchestrate.tables`).

Candidates and their evaluations are global, keyed by the candidate id (the spec hash) and the
dataset key, so the same spec is never evaluated twice on the same data, whichever run asks.
Changing a table here needs a new migration (the drift test in ``tests/store`` fails otherwise).
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

evo_runs = schema.table("""
    evo_runs: one row per evolution: seed, configuration, status, summary
    run_id         str(64)   key
    pipeline_name  str(200)
    seed_id        str(128)
    config_json    text
    status         str(32)
    summary_json   text      null
    created_at     float
    updated_at     float
""")

evo_specs = schema.table("""
    evo_specs: every candidate's spec and traits, by candidate id (the spec hash)
    candidate_id  str(128)  key
    spec_json     text
    traits_json   text
""")

evo_evaluations = schema.table("""
    evo_evaluations: a candidate scored on a dataset split, shared by every evolution
    candidate_id  str(128)  key
    dataset_key   str(128)  key
    split         str(32)   key
    record_json   text
    calls         int
    cost_usd      float
    created_at    float
""")

evo_members = schema.table("""
    evo_members: the candidates an evolution admitted, with parents and operators
    run_id          str(64)   key
    candidate_id    str(128)  key
    seq             int
    generation      int
    parents_json    text
    operators_json  text
    diff            text
    status          str(32)
    index ix_evo_members_run_seq (run_id, seq)
""")

evo_proposals = schema.table("""
    evo_proposals: each offspring slot of a generation: operator, outcome, child, cost
    run_id        str(64)   key
    generation    int       key
    slot          int       key
    operator      str(64)
    parents_json  text
    outcome       str(32)
    child_id      str(128)  null
    spec_json     text      null
    feedback_id   str(128)  null
    calls         int       default=0
    cost_usd      float     default=0.0
""")

evo_state = schema.table("""
    evo_state: the population after each generation (what resume starts from)
    run_id           str(64)  key
    generation       int      key
    population_json  text
    created_at       float
""")

EVOLUTION_TABLES = (
    evo_runs,
    evo_specs,
    evo_evaluations,
    evo_members,
    evo_proposals,
    evo_state,
)
