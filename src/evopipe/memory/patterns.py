"""The pattern DB: promoted champions and certified pipelines, kept for reuse.

Each entry holds the spec (so its steps and contracts), the task it served, its fitness and
where it came from (``registry:NAME@vN``, ``nursery:CERT``). Entries are keyed by the spec's
hash, so recording the same spec twice updates it (best fitness kept) instead of duplicating.
Search is BM25 over the name, the task and description, the step kinds and the prompts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import insert, select, update

from evopipe.memory import tables as t
from evopipe.memory.embeddings import Embedder, cosine
from evopipe.memory.textindex import TextIndex
from evopipe.spec import Pipeline, spec_hash, to_yaml
from evopipe.spec.canonical import spec_from_json, spec_to_json
from evopipe.spec.errors import EvopipeError
from evopipe.spec.kinds import LlmStep
from evopipe.store import Transactional

Origin = Literal["champion", "certified"]
_COLUMNS = (("name", 3.0), ("task", 4.0), ("kinds", 1.0), ("prompts", 1.0))


class PatternNotFoundError(EvopipeError):
    """Unknown pattern, or an ambiguous id prefix."""


@dataclass(frozen=True)
class StoredPattern:
    pattern_id: str
    name: str
    origin: str
    task: str
    spec: Pipeline
    kinds: tuple[str, ...]
    fitness: float | None
    source_ref: str
    reuse_count: int
    created_at: float

    def yaml(self) -> str:
        return to_yaml(self.spec)

    def prompts(self) -> list[str]:
        return [s.prompt for s in walk_steps(self.spec.steps) if isinstance(s, LlmStep)]

    def to_json(self, *, with_spec: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pattern_id": self.pattern_id,
            "name": self.name,
            "origin": self.origin,
            "task": self.task,
            "kinds": list(self.kinds),
            "steps": [s.id for s in self.spec.steps],
            "outputs": sorted(self.spec.outputs),
            "fitness": self.fitness,
            "source_ref": self.source_ref,
            "reuse_count": self.reuse_count,
            "created_at": self.created_at,
        }
        if with_spec:
            data["spec"] = json.loads(spec_to_json(self.spec))
        return data


def walk_steps(steps: Sequence[Any]) -> list[Any]:
    """Steps with their inner steps (``map``, ``loop``, ...), depth first."""
    out: list[Any] = []
    for step in steps:
        out.append(step)
        inner = getattr(step, "steps", None)
        if isinstance(inner, list):
            out.extend(walk_steps(inner))
    return out


def task_of(pipeline: Pipeline) -> str:
    """What a pipeline serves: the request it was generated for, else its description."""
    request = pipeline.metadata.get("request")
    text = str(request) if isinstance(request, str) and request.strip() else ""
    return text or pipeline.description or pipeline.name


MEANING_WEIGHT = 0.5
"""With an embedder, the share of meaning (cosine) in a pattern's score; the rest is BM25,
scaled by the best BM25 score of the query."""


@dataclass(frozen=True)
class PatternDB:
    store: Transactional
    embedder: Embedder | None = None

    def add(
        self,
        pipeline: Pipeline,
        *,
        origin: Origin,
        source_ref: str,
        fitness: float | None = None,
        task: str | None = None,
    ) -> StoredPattern:
        """Record ``pipeline`` (once per spec; a higher fitness or a certification updates)."""
        pid = spec_hash(pipeline)
        kinds = sorted({s.kind for s in walk_steps(pipeline.steps)})
        with self.store.begin() as conn:
            row = conn.execute(
                select(t.memory_patterns).where(t.memory_patterns.c.pattern_id == pid)
            ).first()
            if row is None:
                conn.execute(
                    insert(t.memory_patterns).values(
                        pattern_id=pid,
                        name=pipeline.name,
                        origin=origin,
                        task=(task or task_of(pipeline))[:2000],
                        spec_json=spec_to_json(pipeline),
                        kinds=",".join(kinds),
                        n_steps=len(pipeline.steps),
                        fitness=fitness,
                        source_ref=source_ref,
                        reuse_count=0,
                        created_at=time.time(),
                    )
                )
            else:
                best = max((f for f in (row.fitness, fitness) if f is not None), default=None)
                values: dict[str, Any] = {"fitness": best}
                if origin == "certified":
                    values.update(origin=origin, source_ref=source_ref)
                conn.execute(
                    update(t.memory_patterns)
                    .where(t.memory_patterns.c.pattern_id == pid)
                    .values(**values)
                )
        return self.get(pid)

    def entries(self, limit: int = 100) -> list[StoredPattern]:
        with self.store.begin() as conn:
            rows = conn.execute(
                select(t.memory_patterns)
                .order_by(t.memory_patterns.c.created_at.desc())
                .limit(limit)
            ).all()
        return [_pattern(r) for r in rows]

    def get(self, ident: str) -> StoredPattern:
        """By id (a prefix of at least 4 characters) or by name (the most recent entry)."""
        c = t.memory_patterns.c
        with self.store.begin() as conn:
            rows = conn.execute(
                select(t.memory_patterns).where(c.pattern_id.startswith(ident))
            ).all()
            if len(rows) > 1 or (rows and len(ident) < 4):
                raise PatternNotFoundError(
                    f"pattern id {ident!r} is ambiguous; give more characters"
                )
            if not rows:
                rows = conn.execute(
                    select(t.memory_patterns).where(c.name == ident).order_by(c.created_at.desc())
                ).all()[:1]
        if not rows:
            raise PatternNotFoundError(f"no pattern {ident!r} in memory (evopipe patterns list)")
        return _pattern(rows[0])

    def search(self, text: str, k: int = 5) -> list[tuple[StoredPattern, float]]:
        """The ``k`` stored patterns most similar to ``text``, best first: BM25 over the
        name, task, kinds and prompts; with an embedder, BM25 and meaning together (a pattern
        that shares no word with the request can still be found by what it means)."""
        entries = self.entries(limit=10_000)
        if not entries:
            return []
        lexical = self._lexical(entries, text, max(k, 3 * k if self.embedder else k))
        if self.embedder is None:
            return lexical[:k]
        return self._hybrid(entries, text, lexical, k)

    def _hybrid(
        self,
        entries: list[StoredPattern],
        text: str,
        lexical: list[tuple[StoredPattern, float]],
        k: int,
    ) -> list[tuple[StoredPattern, float]]:
        assert self.embedder is not None
        docs = [
            f"{e.name.replace('-', ' ')}: {e.task}. {e.spec.description or ''}" for e in entries
        ]
        query, *vectors = self.embedder.embed([text, *docs])
        best = max((s for _, s in lexical), default=0.0) or 1.0
        bm25 = {e.pattern_id: s / best for e, s in lexical}
        scored = [
            (
                e,
                MEANING_WEIGHT * max(0.0, cosine(query, v))
                + (1 - MEANING_WEIGHT) * bm25.get(e.pattern_id, 0.0),
            )
            for e, v in zip(entries, vectors, strict=True)
        ]
        scored.sort(key=lambda pair: -pair[1])
        return scored[:k]

    def _lexical(
        self, entries: list[StoredPattern], text: str, k: int
    ) -> list[tuple[StoredPattern, float]]:
        docs = [
            (
                e.name.replace("-", " "),
                f"{e.task}\n{e.spec.description}",
                " ".join(e.kinds),
                "\n".join(e.prompts()),
            )
            for e in entries
        ]
        with TextIndex(_COLUMNS, docs) as index:
            return [(entries[i], score) for i, score in index.search(text, k)]

    def mark_reused(self, pattern_ids: Iterable[str]) -> None:
        """Count one reuse of each pattern (genesis adapted it, an operator drew from it)."""
        c = t.memory_patterns.c
        with self.store.begin() as conn:
            for pid in dict.fromkeys(pattern_ids):
                conn.execute(
                    update(t.memory_patterns)
                    .where(c.pattern_id == pid)
                    .values(reuse_count=c.reuse_count + 1)
                )


def _pattern(row: Any) -> StoredPattern:
    return StoredPattern(
        pattern_id=row.pattern_id,
        name=row.name,
        origin=row.origin,
        task=row.task,
        spec=spec_from_json(row.spec_json),
        kinds=tuple(k for k in row.kinds.split(",") if k),
        fitness=row.fitness,
        source_ref=row.source_ref,
        reuse_count=int(row.reuse_count),
        created_at=float(row.created_at),
    )
