"""Canaries: a share of routed requests goes to a challenger version, sticky per key.

The bucket of a key is a hash of ``(name, key)``, so the same caller always sees the same
version while the canary lasts. Outcomes of routed runs are observed; once the challenger has
``min_requests`` outcomes and its error rate exceeds ``max_error_rate`` (or its mean fitness
falls below ``min_fitness``), it is demoted: the ``canary`` alias is removed and the canary
marked ``demoted`` with the reason, in one transaction, logged as an undoable registry change.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from evopipe.orchestrate import tables as t
from evopipe.orchestrate.labels import CANARY, alias_value, move_alias
from evopipe.orchestrate.registry import Registry, RegistryError
from evopipe.store import Transactional
from evopipe.store.records import FieldsJson


@dataclass(frozen=True)
class Canary(FieldsJson):
    name: str
    challenger: int
    share: float
    max_error_rate: float
    min_fitness: float | None
    min_requests: int
    state: str
    reason: str | None


@dataclass(frozen=True)
class Pick:
    version: int
    role: str
    """``champion`` or ``challenger``."""


def bucket(name: str, key: str) -> float:
    """A stable number in [0, 1) for ``(name, key)``."""
    digest = hashlib.sha256(f"{name}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Canaries:
    def __init__(self, store: Transactional, *, clock: Any = time.time) -> None:
        self.store = store
        self.clock = clock

    def start(
        self,
        name: str,
        challenger: int,
        *,
        share: float = 0.1,
        max_error_rate: float = 0.2,
        min_fitness: float | None = None,
        min_requests: int = 20,
    ) -> Canary:
        if not 0.0 < share < 1.0:
            raise RegistryError(f"canary share must be between 0 and 1, not {share}")
        registry = Registry(self.store)
        registry.version(name, challenger)
        if registry.champion(name) is None:
            raise RegistryError(f"{name} has no champion to compare a canary with")
        now = self.clock()
        with self.store.begin() as conn:
            before = alias_value(conn, name, CANARY)
            move_alias(conn, name, CANARY, before, challenger, "canary started", now)
            conn.execute(delete(t.canaries).where(t.canaries.c.name == name))
            conn.execute(
                insert(t.canaries).values(
                    name=name,
                    challenger=challenger,
                    share=share,
                    max_error_rate=max_error_rate,
                    min_fitness=min_fitness,
                    min_requests=min_requests,
                    state="active",
                    reason=None,
                    updated_at=now,
                )
            )
        found = self.get(name)
        assert found is not None
        return found

    def get(self, name: str) -> Canary | None:
        with self.store.begin() as conn:
            row = conn.execute(select(t.canaries).where(t.canaries.c.name == name)).first()
        if row is None:
            return None
        m = row._mapping
        return Canary(
            m["name"],
            int(m["challenger"]),
            float(m["share"]),
            float(m["max_error_rate"]),
            m["min_fitness"],
            int(m["min_requests"]),
            m["state"],
            m["reason"],
        )

    def pick(self, name: str, key: str, champion: int) -> Pick:
        """Which version serves ``key``: the challenger for its share of keys, else the
        champion."""
        canary = self.get(name)
        if canary is None or canary.state != "active":
            return Pick(champion, "champion")
        if bucket(name, key) < canary.share:
            return Pick(canary.challenger, "challenger")
        return Pick(champion, "champion")

    def observe(
        self, name: str, version: int, *, ok: bool, fitness: float | None = None
    ) -> Canary | None:
        """Record one outcome; demote the challenger when it breaches a threshold. Returns the
        canary when this observation demoted it."""
        now = self.clock()
        with self.store.begin() as conn:
            conn.execute(
                insert(t.canary_outcomes).values(
                    name=name, version=version, ok=int(ok), fitness=fitness, at=now
                )
            )
        canary = self.get(name)
        if canary is None or canary.state != "active" or version != canary.challenger:
            return None
        reason = self._breach(canary)
        if reason is None:
            return None
        with self.store.begin() as conn:
            self._demote(conn, canary, reason, now)
        return self.get(name)

    def stats(self, name: str, version: int) -> tuple[int, float, float | None]:
        """``(outcomes, error rate, mean fitness)`` observed for one version."""
        o = t.canary_outcomes
        with self.store.begin() as conn:
            n, ok, fit = conn.execute(
                select(func.count(), func.sum(o.c.ok), func.avg(o.c.fitness)).where(
                    o.c.name == name, o.c.version == version
                )
            ).one()
        count = int(n or 0)
        rate = 0.0 if not count else 1.0 - float(ok or 0) / count
        return count, rate, None if fit is None else float(fit)

    def _breach(self, canary: Canary) -> str | None:
        n, error_rate, fitness = self.stats(canary.name, canary.challenger)
        if n < canary.min_requests:
            return None
        if error_rate > canary.max_error_rate:
            return (
                f"error rate {error_rate:.2%} over {n} runs > {canary.max_error_rate:.2%} allowed"
            )
        if canary.min_fitness is not None and fitness is not None and fitness < canary.min_fitness:
            return f"mean fitness {fitness:.3f} over {n} runs < {canary.min_fitness}"
        return None

    def _demote(self, conn: Connection, canary: Canary, reason: str, now: float) -> None:
        move_alias(conn, canary.name, CANARY, canary.challenger, None, reason, now)
        conn.execute(
            update(t.canaries)
            .where(t.canaries.c.name == canary.name)
            .values(state="demoted", reason=reason, updated_at=now)
        )

    def stop(self, name: str, *, reason: str = "stopped") -> None:
        canary = self.get(name)
        if canary is None or canary.state != "active":
            raise RegistryError(f"{name} has no active canary")
        with self.store.begin() as conn:
            self._demote(conn, canary, reason, self.clock())
