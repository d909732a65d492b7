"""Auth tables (created by :mod:`evopipe.auth.migrations`).

``api_keys``: one row per API key — its public lookup prefix, tenant, role and the scrypt hash
of its secret (the secret itself is shown once and never stored); ``auth_secrets``: the
server's signing key for short-lived tokens; ``tenant_resources``: which tenant owns a
generation, an evaluation, an evolution or a registered name (no row: the ``default`` tenant).
Changing a table here needs a new migration (the drift test in ``tests/store`` fails otherwise).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, MetaData, String, Table

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

ALL = (api_keys, auth_secrets, tenant_resources)
