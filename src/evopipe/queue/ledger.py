"""The cost ledger and tenant budgets: admitted atomically before each model call.

A call is **admitted** by one conditional ``UPDATE`` of the tenant's counters — it reserves
``reserve_usd`` only while ``spent < limit`` and ``spent + reserved + reserve <= limit`` — and a
ledger row is written in the same transaction. When the call returns it is **settled**: the
reservation is released, the real cost is added to ``spent`` and written on the row, again in
one transaction. So ``spent`` equals the sum of the settled rows, no call starts once the
budget is spent, and the overshoot is bounded by the calls already admitted (in flight).

A call whose price is unknown is settled with ``cost_usd = NULL`` and adds nothing to ``spent``
(it is counted, and reported as "unknown price"). A tenant without a budget row gets one with no
limit on its first call: its spend is still tracked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, text, update

from evopipe.queue import tables as t
from evopipe.queue.runqueue import Transactional, transaction
from evopipe.spec.errors import EvopipeError
from evopipe.store.errors import StoreError
from evopipe.store.records import FieldsJson

b = t.tenant_budgets
c = t.cost_ledger


class BudgetError(EvopipeError):
    """A budget operation got bad input (a negative limit)."""


@dataclass(frozen=True)
class TenantBudget:
    tenant: str
    limit_usd: float | None
    spent_usd: float
    reserved_usd: float

    @property
    def remaining_usd(self) -> float | None:
        return None if self.limit_usd is None else self.limit_usd - self.spent_usd

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "limit_usd": self.limit_usd,
            "spent_usd": self.spent_usd,
            "reserved_usd": self.reserved_usd,
            "remaining_usd": self.remaining_usd,
        }


@dataclass(frozen=True)
class LedgerRow(FieldsJson):
    id: int
    tenant: str
    run_id: str | None
    step_id: str | None
    model: str
    status: str
    """``reserved`` (in flight), ``settled``, ``failed`` (the call raised) or ``abandoned``
    (its worker died; the call's cost is unknown)."""
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    reserved_usd: float
    cached: bool
    admitted_at: float
    settled_at: float | None


_INSERT_TENANT = (
    "INSERT INTO tenant_budgets (tenant, limit_usd, spent_usd, reserved_usd, updated_at) "
    "VALUES (:tenant, NULL, 0, 0, :now) ON CONFLICT (tenant) DO NOTHING"
)


class CostLedger:
    def __init__(self, store: Transactional) -> None:
        self.store = store

    # -- budgets -----------------------------------------------------------------------------

    def set_budget(self, tenant: str, limit_usd: float | None) -> TenantBudget:
        """Set (None: remove) the tenant's limit; its spend so far is kept."""
        if limit_usd is not None and limit_usd < 0:
            raise BudgetError(f"budget of tenant {tenant!r} must be >= 0, got {limit_usd}")
        now = time.time()
        with transaction(self.store) as conn:
            conn.execute(text(_INSERT_TENANT), {"tenant": tenant, "now": now})
            conn.execute(
                update(b).where(b.c.tenant == tenant).values(limit_usd=limit_usd, updated_at=now)
            )
        return self.budget(tenant)

    def budget(self, tenant: str) -> TenantBudget:
        with transaction(self.store) as conn:
            row = conn.execute(select(b).where(b.c.tenant == tenant)).first()
        if row is None:
            return TenantBudget(tenant, None, 0.0, 0.0)
        m = row._mapping
        return TenantBudget(tenant, m["limit_usd"], m["spent_usd"], m["reserved_usd"])

    # -- calls -------------------------------------------------------------------------------

    def admit(
        self,
        tenant: str,
        *,
        model: str,
        run_id: str | None,
        step_id: str | None,
        reserve_usd: float,
    ) -> int | None:
        """Reserve for one call; the ledger row's id, or None when the budget refuses it."""
        now = time.time()
        fits = or_(
            b.c.limit_usd.is_(None),
            and_(
                b.c.spent_usd < b.c.limit_usd,
                b.c.spent_usd + b.c.reserved_usd + reserve_usd <= b.c.limit_usd,
            ),
        )
        with transaction(self.store) as conn:
            conn.execute(text(_INSERT_TENANT), {"tenant": tenant, "now": now})
            admitted = conn.execute(
                update(b)
                .where(b.c.tenant == tenant, fits)
                .values(reserved_usd=b.c.reserved_usd + reserve_usd, updated_at=now)
            )
            if admitted.rowcount != 1:
                return None
            now = time.time()  # after the tenant's row is locked: ordered with settlements
            result = conn.execute(
                insert(c).values(
                    tenant=tenant,
                    run_id=run_id,
                    step_id=step_id,
                    model=model,
                    status="reserved",
                    input_tokens=0,
                    output_tokens=0,
                    cost_usd=None,
                    reserved_usd=reserve_usd,
                    cached=False,
                    admitted_at=now,
                )
            )
            key = result.inserted_primary_key
            if key is None:
                raise StoreError("cost ledger: the database returned no id for the new row")
            return int(key[0])

    def settle(
        self,
        entry: int,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float | None = None,
        cached: bool = False,
        failed: bool = False,
    ) -> None:
        """Close an admitted call: release its reservation and charge its cost."""
        with transaction(self.store) as conn:
            row = conn.execute(
                select(c.c.tenant, c.c.reserved_usd)
                .where(c.c.id == entry, c.c.status == "reserved")
                .with_for_update()
            ).first()
            if row is None:  # already abandoned by a recovering worker
                return
            tenant, reserved = row
            _charge(conn, tenant, -reserved, cost_usd or 0.0)  # locks the tenant's row first
            conn.execute(
                update(c)
                .where(c.c.id == entry)
                .values(
                    status="failed" if failed else "settled",
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    cost_usd=cost_usd,
                    cached=cached,
                    settled_at=time.time(),
                )
            )

    def abandon(self, run_id: str) -> int:
        """Release the reservations of a run's calls left in flight by a dead worker (their
        cost is unknown: ``cost_usd`` stays NULL). Returns how many."""
        with transaction(self.store) as conn:
            rows = conn.execute(
                select(c.c.id, c.c.tenant, c.c.reserved_usd)
                .where(c.c.run_id == run_id, c.c.status == "reserved")
                .with_for_update()
            ).all()
            for entry, tenant, reserved in rows:
                conn.execute(
                    update(c)
                    .where(c.c.id == entry)
                    .values(status="abandoned", settled_at=time.time())
                )
                _charge(conn, tenant, -reserved, 0.0)
        return len(rows)

    def rows(
        self, *, tenant: str | None = None, run_id: str | None = None, limit: int = 10_000
    ) -> list[LedgerRow]:
        stmt = select(c).order_by(c.c.id).limit(limit)
        if tenant is not None:
            stmt = stmt.where(c.c.tenant == tenant)
        if run_id is not None:
            stmt = stmt.where(c.c.run_id == run_id)
        with transaction(self.store) as conn:
            return [LedgerRow(**dict(r._mapping)) for r in conn.execute(stmt).all()]

    def total(self, tenant: str) -> tuple[float, int]:
        """The sum of the tenant's priced ledger rows, and how many calls had no price."""
        with transaction(self.store) as conn:
            priced = conn.execute(
                select(func.coalesce(func.sum(c.c.cost_usd), 0.0)).where(c.c.tenant == tenant)
            ).scalar()
            unknown = conn.execute(
                select(func.count()).where(
                    c.c.tenant == tenant, c.c.status == "settled", c.c.cost_usd.is_(None)
                )
            ).scalar()
        return float(priced or 0.0), int(unknown or 0)


def _charge(conn: Connection, tenant: str, reserved_delta: float, cost: float) -> None:
    conn.execute(
        update(b)
        .where(b.c.tenant == tenant)
        .values(
            reserved_usd=b.c.reserved_usd + reserved_delta,
            spent_usd=b.c.spent_usd + cost,
            updated_at=time.time(),
        )
    )
