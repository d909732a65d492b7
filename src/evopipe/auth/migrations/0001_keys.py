"""0001 keys: API keys, the token signing key, and tenant ownership of resources.

Frozen: the tables exactly as this migration created them, defined here and never imported
from the live ``tables.py`` (a later change to a table is a new migration).
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Float, Index, MetaData, String, Table

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Index("ix_api_keys_tenant", "tenant"),
)

auth_secrets = Table(
    "auth_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
)

tenant_resources = Table(
    "tenant_resources",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("resource_id", String(200), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_tenant_resources_tenant", "tenant", "kind"),
)


NAME = "keys"


def upgrade(conn: Connection) -> None:
    """Create the auth tables."""
    metadata.create_all(conn, tables=[api_keys, auth_secrets, tenant_resources], checkfirst=False)
