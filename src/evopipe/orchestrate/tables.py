"""Orchestrator tables (created by ``evopipe.orchestrate.migrations``).

``registry_versions``: every promoted version of a name with its spec and evidence;
``registry_champions``: the champion pointer per name; ``registry_events``: the history of that
pointer (promote, rollback). Since 0002: aliases and tags on versions with an undoable change
log; routing decisions; chain runs and their journal; schedules and their fires (one row per
schedule and nominal time: the unique key that stops double fires); concurrency leases;
canaries and their observed outcomes. Changing a table here needs a new migration in
:mod:`evopipe.orchestrate.migrations` (the drift test in ``tests/store`` fails otherwise).
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

registry_versions = schema.table("""
    registry_versions: every promoted version of a name, with its spec and evidence
    name           str(200)  key
    version        int       key
    candidate_id   str(128)
    spec_json      text
    evidence_json  text
    approved_by    str(200)  null
    created_at     float
""")

registry_champions = schema.table("""
    registry_champions: the champion pointer of each name
    name        str(200)  key
    version     int
    updated_at  float
""")

registry_events = schema.table("""
    registry_events: the history of that pointer (promote, rollback)
    name          str(200)  key
    seq           int       key
    action        str(32)
    from_version  int       null
    to_version    int       null
    at            float
""")

registry_aliases = schema.table("""
    registry_aliases: a name's aliases, each pointing at a version
    name        str(200)  key
    alias       str(100)  key
    version     int
    updated_at  float
""")

registry_tags = schema.table("""
    registry_tags: tags on versions
    name     str(200)  key
    version  int       key
    tag      str(100)  key
""")

registry_changes = schema.table("""
    registry_changes: the undoable log of alias and tag changes
    id           int       key auto
    name         str(200)
    action       str(32)
    subject      str(200)
    before_json  text      null
    after_json   text      null
    reason       text
    at           float
    undone_by    int       null
    index ix_registry_changes_name (name)
""")

route_decisions = schema.table("""
    route_decisions: every routing decision: request, stage, choice, scores
    id               int       key auto
    request          text
    stage            str(32)
    choice           str(200)  null
    version          int       null
    score            float     null
    threshold        float     null
    reason           text
    candidates_json  text
    at               float
""")

chain_runs = schema.table("""
    chain_runs: one row per chain run and where it stands
    chain_id     str(64)   key
    name         str(200)
    path         text
    inputs_json  text
    status       str(32)
    created_at   float
    updated_at   float
""")

chain_events = schema.table("""
    chain_events: a chain run's journal, stage by stage
    chain_id   str(64)   key
    seq        int       key
    stage      str(100)
    action     str(32)
    run_id     str(64)   null
    data_json  text
    at         float
""")

schedules = schema.table("""
    schedules: cron schedules: target, inputs, catch-up and overlap policies
    name              str(200)  key
    cron              str(100)
    tz                str(64)
    target            text
    inputs_json       text
    missed            str(16)
    max_catchup       int
    catchup_window_s  float
    overlap           str(16)
    created_at        float
    checked_until     float
""")

schedule_fires = schema.table("""
    schedule_fires: one row per schedule and nominal time (the key that stops double fires)
    schedule     str(200)  key
    nominal      int       key
    status       str(16)
    claimed_by   str(100)
    fired_at     float
    run_id       str(64)   null
    finished_at  float     null
""")

concurrency_leases = schema.table("""
    concurrency_leases: slots held under a concurrency key, until they expire
    key         str(200)  key
    slot        int       key
    holder      str(200)
    expires_at  float
""")

canaries = schema.table("""
    canaries: a challenger version's canary: traffic share, limits, state
    name            str(200)  key
    challenger      int
    share           float
    max_error_rate  float
    min_fitness     float     null
    min_requests    int
    state           str(16)
    reason          text      null
    updated_at      float
""")

canary_outcomes = schema.table("""
    canary_outcomes: what each canary request came to
    id       int       key auto
    name     str(200)
    version  int
    ok       int
    fitness  float     null
    at       float
    index ix_canary_outcomes_name (name, version)
""")

REGISTRY_TABLES = (registry_versions, registry_champions, registry_events)
