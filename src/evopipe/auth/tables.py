"""Auth tables (created by :mod:`evopipe.auth.migrations`).

``api_keys``: one row per API key — its public lookup prefix, tenant, role and the scrypt hash
of its secret (the secret itself is shown once and never stored); ``auth_secrets``: the
server's signing key for short-lived tokens; ``tenant_resources``: which tenant owns a
generation, an evaluation, an evolution or a registered name (no row: the ``default`` tenant);
since 0002, ``signed_out``: dashboard sessions signed out (their renewed tokens are refused).
Changing a table here needs a new migration (the drift test in ``tests/store`` fails otherwise).
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

api_keys = schema.table("""
    api_keys: one row per API key: lookup prefix, tenant, role, scrypt hash of the secret
    key_id       str(32)   key
    tenant       str(100)
    role         str(16)
    name         str(200)
    secret_hash  str(256)
    created_at   float
    revoked_at   float     null
    index ix_api_keys_tenant (tenant)
""")

auth_secrets = schema.table("""
    auth_secrets: the server's signing key for short-lived tokens
    name        str(64)   key
    value       str(256)
    created_at  float
""")

tenant_resources = schema.table("""
    tenant_resources: which tenant owns a generation, evaluation, evolution or name
    kind         str(32)   key
    resource_id  str(200)  key
    tenant       str(100)
    created_at   float
    index ix_tenant_resources_tenant (tenant, kind)
""")

signed_out = schema.table("""
    signed_out: dashboard sessions signed out, kept until no token of theirs can be valid
    session_id  str(32)  key
    until       float
""")

ALL = (api_keys, auth_secrets, tenant_resources, signed_out)
