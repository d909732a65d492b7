"""Concurrency limits with leases, and round-robin fairness across keys.

A slot is a row ``(key, slot)`` of ``concurrency_leases`` with ``slot < limit``: the primary
key makes it impossible for two holders to take the same slot, so a limit is never exceeded,
even by racing processes. A lease expires unless renewed; a dead holder's slot is taken back
by the next acquirer after ``ttl_s`` (no stuck slots). A run can need several keys at once (its
pipeline's and its tenant's): :meth:`Leases.acquire` takes all of them or none.

:class:`FairQueue` hands out queued work one key at a time in turn, so a tenant with a thousand
queued runs does not starve another tenant's single one.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from evopipe.orchestrate import tables as t
from evopipe.spec.errors import EvopipeError
from evopipe.store import Transactional

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Lease:
    key: str
    slot: int
    holder: str
    expires_at: float


class LeaseLost(EvopipeError):
    """A lease expired (and may be held by someone else): the holder must stop."""


class Leases:
    def __init__(
        self, store: Transactional, *, ttl_s: float = 30.0, clock: Any = time.time
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock

    def acquire(self, limits: Sequence[tuple[str, int]], holder: str) -> list[Lease] | None:
        """A slot under each ``(key, limit)`` for ``holder``, all or none (None: some key is
        full)."""
        now = self.clock()
        try:
            with self.store.begin() as conn:
                leases = [self._take(conn, key, limit, holder, now) for key, limit in limits]
                if any(lease is None for lease in leases):
                    raise _Full
        except (_Full, IntegrityError):
            return None
        return [lease for lease in leases if lease is not None]

    def _take(
        self, conn: Connection, key: str, limit: int, holder: str, now: float
    ) -> Lease | None:
        c = t.concurrency_leases.c
        conn.execute(delete(t.concurrency_leases).where(c.key == key, c.expires_at <= now))
        used = {int(s) for (s,) in conn.execute(select(c.slot).where(c.key == key)).all()}
        free = [s for s in range(limit) if s not in used]
        if not free:
            return None
        lease = Lease(key, free[0], holder, now + self.ttl_s)
        conn.execute(
            insert(t.concurrency_leases).values(
                key=key, slot=lease.slot, holder=holder, expires_at=lease.expires_at
            )
        )
        return lease

    def renew(self, leases: Iterable[Lease]) -> list[Lease]:
        """Extend every lease; :class:`LeaseLost` if one expired or was taken over."""
        now = self.clock()
        out = []
        with self.store.begin() as conn:
            for lease in leases:
                if lease.expires_at <= now or not self._update(conn, lease, now + self.ttl_s):
                    raise LeaseLost(f"lease on {lease.key} slot {lease.slot} was lost")
                out.append(Lease(lease.key, lease.slot, lease.holder, now + self.ttl_s))
        return out

    def release(self, leases: Iterable[Lease]) -> None:
        with self.store.begin() as conn:
            for lease in leases:
                conn.execute(delete(t.concurrency_leases).where(_same(lease)))

    def held(self, key: str) -> int:
        """Slots of ``key`` under a lease that has not expired."""
        c = t.concurrency_leases.c
        with self.store.begin() as conn:
            n = conn.execute(
                select(func.count()).where(c.key == key, c.expires_at > self.clock())
            ).scalar_one()
        return int(n)

    @staticmethod
    def _update(conn: Connection, lease: Lease, expires_at: float) -> bool:
        done = conn.execute(
            update(t.concurrency_leases).where(_same(lease)).values(expires_at=expires_at)
        ).rowcount
        return bool(done)


class _Full(Exception):
    pass


def _same(lease: Lease) -> Any:
    c = t.concurrency_leases.c
    return and_(c.key == lease.key, c.slot == lease.slot, c.holder == lease.holder)


class FairQueue(Generic[T]):
    """Per-key FIFO queues served round-robin: each :meth:`pop` moves to the next key."""

    def __init__(self) -> None:
        self._queues: OrderedDict[str, deque[T]] = OrderedDict()

    def push(self, key: str, item: T) -> None:
        self._queues.setdefault(key, deque()).append(item)

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def take(self, admit: Callable[[str, T], R | None]) -> tuple[str, T, R] | None:
        """The head item of the first key in turn that ``admit(key, item)`` accepts (it returns
        what admission gave, e.g. leases, or None to refuse); that key then goes to the back of
        the line. None when no key's head item is admitted."""
        for key in list(self._queues):
            queue = self._queues[key]
            granted = admit(key, queue[0])
            if granted is None:
                continue
            del self._queues[key]
            item = queue.popleft()
            if queue:
                self._queues[key] = queue  # to the back of the line
            return key, item, granted
        return None
