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

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

registry_versions = Table(
    "registry_versions",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("candidate_id", String(128), nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("evidence_json", Text, nullable=False),
    Column("approved_by", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
)

registry_champions = Table(
    "registry_champions",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

registry_events = Table(
    "registry_events",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("action", String(32), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("at", Float, nullable=False),
)

registry_aliases = Table(
    "registry_aliases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("alias", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

registry_tags = Table(
    "registry_tags",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("tag", String(100), primary_key=True),
)

registry_changes = Table(
    "registry_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("before_json", Text, nullable=True),
    Column("after_json", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("undone_by", Integer, nullable=True),
    Index("ix_registry_changes_name", "name"),
)

route_decisions = Table(
    "route_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request", Text, nullable=False),
    Column("stage", String(32), nullable=False),
    Column("choice", String(200), nullable=True),
    Column("version", Integer, nullable=True),
    Column("score", Float, nullable=True),
    Column("threshold", Float, nullable=True),
    Column("reason", Text, nullable=False),
    Column("candidates_json", Text, nullable=False),
    Column("at", Float, nullable=False),
)

chain_runs = Table(
    "chain_runs",
    metadata,
    Column("chain_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("path", Text, nullable=False),
    Column("inputs_json", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

chain_events = Table(
    "chain_events",
    metadata,
    Column("chain_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("stage", String(100), nullable=False),
    Column("action", String(32), nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("data_json", Text, nullable=False),
    Column("at", Float, nullable=False),
)

schedules = Table(
    "schedules",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("cron", String(100), nullable=False),
    Column("tz", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("inputs_json", Text, nullable=False),
    Column("missed", String(16), nullable=False),
    Column("max_catchup", Integer, nullable=False),
    Column("catchup_window_s", Float, nullable=False),
    Column("overlap", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("checked_until", Float, nullable=False),
)

schedule_fires = Table(
    "schedule_fires",
    metadata,
    Column("schedule", String(200), primary_key=True),
    Column("nominal", Integer, primary_key=True, autoincrement=False),
    Column("status", String(16), nullable=False),
    Column("claimed_by", String(100), nullable=False),
    Column("fired_at", Float, nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("finished_at", Float, nullable=True),
)

concurrency_leases = Table(
    "concurrency_leases",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(200), nullable=False),
    Column("expires_at", Float, nullable=False),
)

canaries = Table(
    "canaries",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("challenger", Integer, nullable=False),
    Column("share", Float, nullable=False),
    Column("max_error_rate", Float, nullable=False),
    Column("min_fitness", Float, nullable=True),
    Column("min_requests", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
)

canary_outcomes = Table(
    "canary_outcomes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("fitness", Float, nullable=True),
    Column("at", Float, nullable=False),
    Index("ix_canary_outcomes_name", "name", "version"),
)

REGISTRY_TABLES = (registry_versions, registry_champions, registry_events)
