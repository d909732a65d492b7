"""The registry: name → numbered versions → a champion pointer, with its history.

``promote`` (in :mod:`evopipe.evolve.promotion`) adds a version and moves the pointer only with
evidence; ``rollback`` moves the pointer back to the previous champion. ``evopipe run NAME``
resolves the name to the champion's spec with :func:`resolve_champion`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Table, func, insert, select, update

from evopipe.orchestrate import tables as t
from evopipe.spec import Pipeline
from evopipe.spec.canonical import spec_from_json, spec_to_json
from evopipe.spec.errors import EvopipeError
from evopipe.store import Transactional


class RegistryError(EvopipeError):
    """Unknown name or version, or nothing to roll back to."""


@dataclass(frozen=True)
class Version:
    name: str
    version: int
    candidate_id: str
    spec: Pipeline
    evidence: dict[str, Any]
    approved_by: str | None
    created_at: float


class Registry:
    def __init__(self, store: Transactional) -> None:
        self.store = store

    def add_version(
        self,
        name: str,
        candidate_id: str,
        spec: Pipeline,
        evidence: dict[str, Any],
        approved_by: str | None = None,
    ) -> int:
        """Record a new version of ``name`` (not yet champion); returns its number."""
        with self.store.begin() as conn:
            last = conn.execute(
                select(func.max(t.registry_versions.c.version)).where(
                    t.registry_versions.c.name == name
                )
            ).scalar()
            number = int(last or 0) + 1
            conn.execute(
                insert(t.registry_versions).values(
                    name=name,
                    version=number,
                    candidate_id=candidate_id,
                    spec_json=spec_to_json(spec),
                    evidence_json=json.dumps(evidence, sort_keys=True, default=str),
                    approved_by=approved_by,
                    created_at=time.time(),
                )
            )
        return number

    def register(self, name: str, spec: Pipeline, evidence: dict[str, Any]) -> int:
        """Add a version of ``name`` for ``spec`` (its id is the spec's hash); it becomes the
        champion when ``name`` has none. Returns its number."""
        from evopipe.spec.canonical import spec_hash

        number = self.add_version(name, spec_hash(spec), spec, evidence)
        if self.champion(name) is None:
            self.set_champion(name, number)
        return number

    def names(self) -> list[tuple[str, int, int | None]]:
        """Every registered name with its number of versions and its champion (or None)."""
        with self.store.begin() as conn:
            counts = conn.execute(
                select(t.registry_versions.c.name, func.count())
                .group_by(t.registry_versions.c.name)
                .order_by(t.registry_versions.c.name)
            ).all()
            champions = dict(
                conn.execute(
                    select(t.registry_champions.c.name, t.registry_champions.c.version)
                ).all()
            )
        return [(str(n), int(c), champions.get(n)) for n, c in counts]

    def versions(self, name: str) -> list[Version]:
        v = t.registry_versions
        return [_version(m) for m in self._rows_of(name, v, v.c.version)]

    def version(self, name: str, number: int) -> Version:
        for v in self.versions(name):
            if v.version == number:
                return v
        raise RegistryError(f"{name} has no version {number}")

    def champion(self, name: str) -> Version | None:
        with self.store.begin() as conn:
            number = champion_version(conn, name)
        return None if number is None else self.version(name, number)

    def history(self, name: str) -> list[dict[str, Any]]:
        e = t.registry_events
        return [dict(m) for m in self._rows_of(name, e, e.c.seq)]

    def set_champion(self, name: str, number: int, action: str = "promote") -> None:
        self.version(name, number)
        with self.store.begin() as conn:
            move_champion(conn, name, number, action, time.time())

    def _rows_of(self, name: str, table: Table, order: ColumnElement[Any]) -> list[RowMapping]:
        """The rows of ``table`` for ``name``, in ``order``."""
        query = select(table).where(table.c.name == name).order_by(order)
        with self.store.begin() as conn:
            return [r._mapping for r in conn.execute(query).all()]

    def rollback(self, name: str) -> Version:
        """Point the champion back at the version that was champion before the current one."""
        current = self.champion(name)
        if current is None:
            raise RegistryError(f"{name} has no champion to roll back")
        promoted = [e for e in self.history(name) if e["action"] == "promote"]
        # Walk the promotions backwards: the champion before the current one's promotion.
        target: int | None = None
        for event in reversed(promoted):
            if event["to_version"] == current.version:
                target = event["from_version"]
                break
        if target is None:
            raise RegistryError(f"{name} v{current.version} has no earlier champion to return to")
        self.set_champion(name, target, action="rollback")
        return self.version(name, target)


def champion_version(conn: Connection, name: str) -> int | None:
    """The champion's version number of ``name`` (None without one), in the caller's
    transaction."""
    c = t.registry_champions
    row = conn.execute(select(c.c.version).where(c.c.name == name)).first()
    return None if row is None else int(row[0])


def move_champion(conn: Connection, name: str, version: int, action: str, now: float) -> None:
    """Point the champion of ``name`` at ``version`` and add ``action`` to its history, in the
    caller's transaction."""
    current = champion_version(conn, name)
    e = t.registry_events
    seq = conn.execute(select(func.count()).select_from(e).where(e.c.name == name)).scalar_one()
    conn.execute(
        insert(e).values(
            name=name, seq=int(seq), action=action, from_version=current, to_version=version, at=now
        )
    )
    c = t.registry_champions
    if current is None:
        conn.execute(insert(c).values(name=name, version=version, updated_at=now))
    else:
        conn.execute(update(c).where(c.c.name == name).values(version=version, updated_at=now))


def _version(m: Any) -> Version:
    return Version(
        name=m["name"],
        version=int(m["version"]),
        candidate_id=m["candidate_id"],
        spec=spec_from_json(m["spec_json"]),
        evidence=json.loads(m["evidence_json"]),
        approved_by=m["approved_by"],
        created_at=float(m["created_at"]),
    )


def resolve_champion(name: str, store: Transactional) -> Pipeline:
    """The champion spec of ``name`` (for ``evopipe run NAME``); :class:`RegistryError` if none."""
    champ = Registry(store).champion(name)
    if champ is None:
        raise RegistryError(f"no champion registered under {name!r} (promote one first)")
    return champ.spec
