"""0001 registry: promoted versions, the champion pointer and its history.

Frozen: the tables exactly as this migration created them, defined here and never imported
from the live ``tables.py`` (a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Float, Integer, MetaData, String, Table, Text

NAME = "registry"

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


def upgrade(conn: Connection) -> None:
    """Create the registry tables."""
    metadata.create_all(
        conn, tables=[registry_versions, registry_champions, registry_events], checkfirst=False
    )
