"""The factory: a demand list → generated, (certified,) registered pipelines, in batch.

A batch is identified by its requests (the same file resumes the same batch). Each request's
progress is a row of ``factory_items``, written before and after the work, so a batch killed at
any point resumes where it stopped. Nothing is registered twice: before registering, the
registry is searched for the spec (its candidate id) and for the name — found, the item is a
``duplicate`` (or ``done`` when this very item registered it before a kill).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, select, update

from evopipe.nursery import tables as t
from evopipe.orchestrate.registry import Registry
from evopipe.spec import Pipeline, spec_hash
from evopipe.spec.errors import EvopipeError

Generate = Callable[[str], Awaitable[Pipeline]]
Certify = Callable[[Pipeline], Awaitable[bool]]
OnItem = Callable[["Item", int], None]
FINISHED = frozenset({"done", "duplicate", "refused"})


class FactoryError(EvopipeError):
    """The demand file is unreadable or empty."""


@dataclass(frozen=True)
class Item:
    index: int
    request: str
    status: str
    name: str | None = None
    candidate_id: str | None = None
    version: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_demands(path: Path) -> list[str]:
    """Requests from a text file (one per line, ``#`` comments) or a YAML list."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FactoryError(f"cannot read the demand file {path}: {exc}") from exc
    if path.suffix in (".yaml", ".yml"):
        data = yaml.safe_load(text)
        if not isinstance(data, list):
            raise FactoryError(f"{path}:1:1: expected a YAML list of requests")
        requests = [str(r).strip() for r in data]
    else:
        requests = [line.strip() for line in text.splitlines()]
    requests = [r for r in requests if r and not r.startswith("#")]
    if not requests:
        raise FactoryError(f"{path}: no request in the demand file")
    return requests


def batch_id(requests: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(requests).encode()).hexdigest()[:32]


class Factory:
    def __init__(self, store: Any, generate: Generate, certify: Certify | None = None) -> None:
        self.store, self.generate, self.certify = store, generate, certify
        self.registry = Registry(store)

    def items(self, batch: str) -> dict[int, Item]:
        c = t.factory_items.c
        with self.store.begin() as conn:
            rows = conn.execute(select(t.factory_items).where(c.batch_id == batch)).all()
        return {
            r.idx: Item(r.idx, r.request, r.status, r.name, r.candidate_id, r.version, r.error)
            for r in rows
        }

    async def run(self, requests: Sequence[str], on_item: OnItem | None = None) -> list[Item]:
        """Work through every request not finished yet; the items in order."""
        batch = batch_id(requests)
        done = self.items(batch)
        out: list[Item] = []
        for i, request in enumerate(requests):
            item = done.get(i)
            if item is None or item.status not in FINISHED:
                self._put(batch, Item(i, request, "running"), new=item is None)
                item = await self._one(batch, i, request)
                self._put(batch, item, new=False)
            out.append(item)
            if on_item is not None:
                on_item(item, len(requests))
        return out

    async def _one(self, batch: str, i: int, request: str) -> Item:
        try:
            pipeline = await self.generate(request)
        except EvopipeError as exc:
            return Item(i, request, "failed", error=str(exc)[:500])
        cid, name = spec_hash(pipeline), pipeline.name
        known = self._registered(cid, name)
        if known is not None:
            ours = known.evidence.get("factory") == batch and known.evidence.get("index") == i
            status = "done" if ours else "duplicate"
            return Item(i, request, status, name, cid, known.version)
        if self.certify is not None and not await self.certify(pipeline):
            return Item(i, request, "refused", name, cid, error="the nursery refused it")
        evidence = {"factory": batch, "index": i, "request": request}
        number = self.registry.add_version(name, cid, pipeline, evidence)
        self.registry.set_champion(name, number)
        return Item(i, request, "done", name, cid, number)

    def _registered(self, cid: str, name: str) -> Any:
        """A registered version with this spec, else the champion of this name (or None)."""
        for registered, _, _ in self.registry.names():
            for version in self.registry.versions(registered):
                if version.candidate_id == cid:
                    return version
        versions = self.registry.versions(name)
        return versions[-1] if versions else None

    def _put(self, batch: str, item: Item, *, new: bool) -> None:
        values = {
            "request": item.request,
            "status": item.status,
            "name": item.name,
            "candidate_id": item.candidate_id,
            "version": item.version,
            "error": item.error,
            "updated_at": time.time(),
        }
        c = t.factory_items.c
        with self.store.begin() as conn:
            if new:
                conn.execute(
                    insert(t.factory_items).values(batch_id=batch, idx=item.index, **values)
                )
            else:
                conn.execute(
                    update(t.factory_items)
                    .where(c.batch_id == batch, c.idx == item.index)
                    .values(**values)
                )
