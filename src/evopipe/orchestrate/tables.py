"""Registry tables (created by ``evopipe.orchestrate.migrations``).

``registry_versions``: every promoted version of a name with its spec and evidence;
``registry_champions``: the champion pointer per name; ``registry_events``: the history of that
pointer (promote, rollback). Changing a table here needs a new migration in
:mod:`evopipe.orchestrate.migrations` (the drift test in ``tests/store`` fails otherwise).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

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

REGISTRY_TABLES = (registry_versions, registry_champions, registry_events)
