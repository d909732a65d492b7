"""What an evolution run leaves to the collective memory, and what it reads back.

:class:`MemoryRecorder` files failed examples and rejected offspring in the failure museum,
offers improving offspring to the innovation gallery, and hands ``reflect`` the museum's
lesson for the cause of the failures it is shown. :func:`memory_seeds` picks stored pipelines
that served a similar task and fit the seed's interface, to start a population from memory;
:func:`memory_donors` gives ``transplant`` and ``crossover`` stored material to draw from.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any

from evopipe.evolve.fitness import EvalRecord
from evopipe.evolve.operators.base import OperatorRunner
from evopipe.memory.failures import FailureMuseum
from evopipe.memory.innovations import Gallery
from evopipe.memory.patterns import PatternDB, task_of
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError

LESSON_OPERATORS = frozenset({"reflect"})


class MemoryRecorder:
    """The loop's link to the memory tables of ``store`` (all three are optional reading)."""

    def __init__(self, store: Any) -> None:
        self.museum = FailureMuseum(store)
        self.gallery = Gallery(store)

    def evaluated(self, cid: str, record: EvalRecord) -> None:
        """File the examples that failed with an error (a wrong answer is not a failure)."""
        for e in record.examples:
            if e.error:
                self.museum.record(
                    origin="evaluation",
                    subject=cid,
                    message=e.error,
                    example={"id": e.example_id, "inputs": e.inputs, "expected": e.expected},
                )

    def rejected(self, operator: str, parent: str, outcome: str) -> None:
        """An offspring the checks refused (``invalid``) or an operator that failed."""
        self.museum.record(
            origin="offspring",
            subject=parent,
            message=f"operator {operator}: offspring {outcome}",
            cause="invalid-spec" if outcome == "invalid" else None,
            example={"operator": operator, "parent": parent},
        )

    def improved(
        self,
        run_id: str,
        child: Pipeline,
        cid: str,
        operators: Sequence[str],
        parents: Sequence[str],
        gain: float,
    ) -> None:
        self.gallery.offer(
            child,
            candidate_id=cid,
            run_id=run_id,
            operators=operators,
            lineage=parents,
            fitness_gain=gain,
        )

    def innovations(self, limit: int = 8) -> list[Pipeline]:
        """The specs of the gallery's latest innovations (those still stored)."""
        from evopipe.evolve.repository import EvolutionRepository

        repo = EvolutionRepository(self.gallery.store)
        found = []
        for entry in self.gallery.entries(limit):
            with contextlib.suppress(EvopipeError):
                found.append(repo.get_spec(entry.candidate_id))
        return found

    def lessons(self, inner: OperatorRunner) -> OperatorRunner:
        """``inner`` with the museum's lesson added to the failures ``reflect`` is shown."""

        async def run(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
            text = inputs.get("failures")
            if name in LESSON_OPERATORS and isinstance(text, str):
                cluster = self.museum.relevant(_first_feedback(text))
                if cluster is not None:
                    inputs = {**inputs, "failures": f"{text}\n\nFailure museum: {cluster.lesson()}"}
            return await inner(name, inputs)

        return run


def _first_feedback(failures_json: str) -> str:
    try:
        items = json.loads(failures_json)
    except json.JSONDecodeError:
        return failures_json
    texts = [str(i.get("feedback") or "") for i in items if isinstance(i, dict)]
    return " ".join(texts) or failures_json


def fits(candidate: Pipeline, seed: Pipeline) -> bool:
    """Same inputs and outputs: the candidate can be scored on the seed's dataset."""
    return set(candidate.inputs) == set(seed.inputs) and set(candidate.outputs) == set(seed.outputs)


def memory_seeds(store: Any, seed: Pipeline, k: int = 2) -> list[Pipeline]:
    """Stored pipelines that served a task like the seed's and fit its interface, best first."""
    hits = PatternDB(store).search(task_of(seed) + " " + seed.name.replace("-", " "), k=10)
    return [p.spec for p, _ in hits if fits(p.spec, seed) and p.spec != seed][:k]


def memory_donors(store: Any, seed: Pipeline, k: int = 4) -> list[Pipeline]:
    """Stored pipelines sharing an output with the seed (``transplant`` material)."""
    hits = PatternDB(store).search(task_of(seed) + " " + seed.name.replace("-", " "), k=20)
    shared = [p.spec for p, _ in hits if set(p.spec.outputs) & set(seed.outputs)]
    return shared[:k]
