"""Which tenant owns a resource that has no tenant column of its own (a generation, an
evaluation, an evolution, a registered name). No row means the ``default`` tenant: what the
CLI creates."""

from __future__ import annotations

import time

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from evopipe.auth import tables as t
from evopipe.auth.keys import Transactional

DEFAULT_TENANT = "default"


def owner(store: Transactional, kind: str, resource_id: str) -> str:
    r = t.tenant_resources
    query = select(r.c.tenant).where(r.c.kind == kind, r.c.resource_id == resource_id)
    with store.begin() as conn:
        found = conn.execute(query).scalar()
    return DEFAULT_TENANT if found is None else str(found)


def claim(store: Transactional, kind: str, resource_id: str, tenant: str) -> bool:
    """Record ``tenant`` as the owner; False if another tenant already owns it."""
    try:
        with store.begin() as conn:
            conn.execute(
                insert(t.tenant_resources).values(
                    kind=kind, resource_id=resource_id, tenant=tenant, created_at=time.time()
                )
            )
    except IntegrityError:
        return owner(store, kind, resource_id) == tenant
    return True


def owned(store: Transactional, kind: str, tenant: str) -> set[str]:
    """The ids of ``kind`` that ``tenant`` owns explicitly."""
    r = t.tenant_resources
    query = select(r.c.resource_id).where(r.c.kind == kind, r.c.tenant == tenant)
    with store.begin() as conn:
        return {str(v) for v in conn.execute(query).scalars()}


def claimed(store: Transactional, kind: str) -> set[str]:
    """Every id of ``kind`` that some tenant owns explicitly."""
    r = t.tenant_resources
    with store.begin() as conn:
        return {
            str(v) for v in conn.execute(select(r.c.resource_id).where(r.c.kind == kind)).scalars()
        }
