"""Generation tables (created by :mod:`evopipe.genesis.migrations`; a change needs a new one).

``generations``: one row per ``evopipe generate`` (request, model, outcome, final spec);
``generation_rounds``: each round's draft, deterministic repairs and diagnostics.
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

generations = schema.table("""
    generations: one row per evopipe generate: request, model, outcome, final spec
    generation_id    str(32)   key
    request          text
    model            str(200)
    status           str(16)
    name             str(100)  null
    spec_yaml        text      null
    spec_hash        str(64)   null
    rounds           int
    first_try_valid  int
    source           str(16)   null
    pattern          str(100)  null
    error            text      null
    duration_s       float
    created_at       float
    index ix_generations_created (created_at)
""")

generation_rounds = schema.table("""
    generation_rounds: each round's draft, deterministic repairs and diagnostics
    generation_id           str(32)  key
    number                  int      key
    source                  str(16)
    valid                   int
    draft_json              text     null
    repaired_json           text     null
    repairs_json            text
    first_diagnostics_json  text
    diagnostics_json        text
    error                   text     null
    duration_s              float
""")

GENERATION_TABLES = (generations, generation_rounds)
