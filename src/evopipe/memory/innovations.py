"""The innovation gallery: structures that improved fitness for the first time.

A structure is the set of step kinds (and tools) a pipeline combines, ignoring prompts. When an
offspring beats its parent with a structure the gallery has never seen, it is recorded with the
operators and the lineage that found it; scouts read the gallery to start from such structures.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from evopipe.memory import tables as t
from evopipe.memory.patterns import walk_steps
from evopipe.spec import Pipeline


def structure_labels(pipeline: Pipeline) -> Counter[str]:
    """Each step's ``kind`` (``tool:NAME`` for tools), counted, inner steps included."""
    labels: Counter[str] = Counter()
    for step in walk_steps(pipeline.steps):
        tool = getattr(step, "tool", None)
        labels[f"tool:{tool}" if step.kind == "tool" and tool else step.kind] += 1
    return labels


def structure_of(pipeline: Pipeline) -> str:
    """The kind combination of a pipeline: its distinct labels, sorted, joined by ``+``."""
    return "+".join(sorted(structure_labels(pipeline)))


def structural_distance(a: Pipeline, b: Pipeline) -> float:
    """1 - (shared labels / all labels), counted with multiplicity: 0 same shape, 1 disjoint."""
    la, lb = structure_labels(a), structure_labels(b)
    union = sum((la | lb).values())
    return 1.0 - sum((la & lb).values()) / union if union else 0.0


@dataclass(frozen=True)
class Innovation:
    signature: str
    structure: str
    candidate_id: str
    run_id: str
    operators: tuple[str, ...]
    lineage: tuple[str, ...]
    fitness_gain: float
    created_at: float

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["operators"], data["lineage"] = list(self.operators), list(self.lineage)
        return data


@dataclass(frozen=True)
class Gallery:
    """Innovations filed in the store, one per structure."""

    store: Any

    def offer(
        self,
        pipeline: Pipeline,
        *,
        candidate_id: str,
        run_id: str,
        operators: Sequence[str],
        lineage: Sequence[str],
        fitness_gain: float,
    ) -> Innovation | None:
        """Record the structure of an improving offspring if it is new; None if it was known
        (or did not improve)."""
        if fitness_gain <= 0:
            return None
        structure = structure_of(pipeline)
        signature = hashlib.sha256(structure.encode()).hexdigest()[:32]
        item = Innovation(
            signature,
            structure,
            candidate_id,
            run_id,
            tuple(operators),
            tuple(lineage),
            fitness_gain,
            time.time(),
        )
        c = t.memory_innovations.c
        with self.store.begin() as conn:
            if conn.execute(select(c.signature).where(c.signature == signature)).first():
                return None
            conn.execute(
                insert(t.memory_innovations).values(
                    signature=signature,
                    structure=structure,
                    candidate_id=candidate_id,
                    run_id=run_id,
                    operators=",".join(operators),
                    lineage_json=json.dumps(list(lineage)),
                    fitness_gain=fitness_gain,
                    created_at=item.created_at,
                )
            )
        return item

    def entries(self, limit: int = 100) -> list[Innovation]:
        c = t.memory_innovations.c
        with self.store.begin() as conn:
            rows = conn.execute(
                select(t.memory_innovations).order_by(c.created_at.desc()).limit(limit)
            ).all()
        return [
            Innovation(
                r.signature,
                r.structure,
                r.candidate_id,
                r.run_id,
                tuple(o for o in r.operators.split(",") if o),
                tuple(json.loads(r.lineage_json)),
                float(r.fitness_gain),
                float(r.created_at),
            )
            for r in rows
        ]

    def known(self) -> set[str]:
        """Every structure in the gallery."""
        with self.store.begin() as conn:
            return {r[0] for r in conn.execute(select(t.memory_innovations.c.structure))}
