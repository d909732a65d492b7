"""API keys: ``evp_<key id>_<secret>``. The key id is the public lookup prefix; the secret is
hashed with scrypt (a per-key random salt) and compared in constant time. The whole key is
returned once, by :func:`create_key`, and never stored.

>>> from evopipe.auth.keys import parse_key
>>> parse_key("evp_0123456789ab_" + "s" * 43)[0]
'0123456789ab'
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import insert, select, update

from evopipe.auth import tables as t
from evopipe.auth.roles import AuthError, check_role
from evopipe.spec.errors import EvopipeError

PREFIX = "evp_"
_KEY_RE = re.compile(r"^evp_([0-9a-f]{12})_([A-Za-z0-9_-]{32,64})$")
_TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class Transactional(Protocol):
    def begin(self) -> Any: ...


@dataclass(frozen=True)
class KeyInfo:
    """A stored key, without its secret."""

    key_id: str
    tenant: str
    role: str
    name: str
    created_at: float
    revoked_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_tenant(tenant: str) -> str:
    if not _TENANT_RE.match(tenant):
        raise EvopipeError(
            f"bad tenant {tenant!r}: lowercase letters, digits, '_', '.', '-' (1-100 chars)"
        )
    return tenant


def parse_key(key: str) -> tuple[str, str]:
    """``(key id, secret)`` of a well-formed key; :class:`AuthError` otherwise."""
    match = _KEY_RE.match(key)
    if match is None:
        raise AuthError("malformed API key")
    return match.group(1), match.group(2)


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    """Constant-time comparison of ``secret`` against a :func:`hash_secret` value."""
    try:
        algo, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if algo != "scrypt":
        return False
    got = hashlib.scrypt(
        secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got.hex(), digest)


def _info(row: Any) -> KeyInfo:
    return KeyInfo(row.key_id, row.tenant, row.role, row.name, row.created_at, row.revoked_at)


def create_key(
    store: Transactional, *, tenant: str, role: str, name: str = ""
) -> tuple[str, KeyInfo]:
    """A new key: ``(the whole key, shown once; its stored info)``."""
    check_tenant(tenant)
    check_role(role)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    info = KeyInfo(key_id, tenant, role, name[:200], time.time())
    with store.begin() as conn:
        conn.execute(
            insert(t.api_keys).values(
                key_id=key_id,
                tenant=tenant,
                role=role,
                name=info.name,
                secret_hash=hash_secret(secret),
                created_at=info.created_at,
                revoked_at=None,
            )
        )
    return f"{PREFIX}{key_id}_{secret}", info


def list_keys(store: Transactional, tenant: str | None = None) -> list[KeyInfo]:
    query = select(t.api_keys).order_by(t.api_keys.c.created_at)
    if tenant is not None:
        query = query.where(t.api_keys.c.tenant == tenant)
    with store.begin() as conn:
        return [_info(row) for row in conn.execute(query)]


def get_key(store: Transactional, key_id: str) -> tuple[KeyInfo, str] | None:
    """The key's info and stored hash, or None."""
    with store.begin() as conn:
        row = conn.execute(select(t.api_keys).where(t.api_keys.c.key_id == key_id)).first()
    return None if row is None else (_info(row), row.secret_hash)


def revoke_key(store: Transactional, key_id: str, tenant: str | None = None) -> KeyInfo:
    """Revoke (idempotent); with ``tenant``, only a key of that tenant."""
    query = update(t.api_keys).where(t.api_keys.c.key_id == key_id)
    if tenant is not None:
        query = query.where(t.api_keys.c.tenant == tenant)
    with store.begin() as conn:
        conn.execute(query.where(t.api_keys.c.revoked_at.is_(None)).values(revoked_at=time.time()))
    found = get_key(store, key_id)
    if found is None or (tenant is not None and found[0].tenant != tenant):
        raise EvopipeError(f"no API key {key_id!r}")
    return found[0]


def any_keys(store: Transactional) -> bool:
    """Whether any unrevoked key exists (without one the server binds to loopback only)."""
    with store.begin() as conn:
        row = conn.execute(
            select(t.api_keys.c.key_id).where(t.api_keys.c.revoked_at.is_(None)).limit(1)
        ).first()
    return row is not None
