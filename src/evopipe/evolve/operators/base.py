"""The operator protocol: spec (+ context) → new spec, or None when not applicable.

Operators are deterministic given the context's seeded RNG (and, for the LLM-driven ones, the
answers of their operator pipeline). They never mutate their input: specs are frozen pydantic
models, so an operator builds a new one from plain data.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from evopipe.evolve.fitness import EvalRecord
from evopipe.evolve.operators._text import rewire
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError
from evopipe.spec.kinds import LlmStep

Level = Literal["prompt", "structure", "crossover"]

T = TypeVar("T")

OperatorRunner = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Runs the operator pipeline of this name (``library/operators/NAME.yaml``) → its outputs."""


class OperatorError(EvopipeError):
    """An operator could not produce an offspring (its pipeline failed, bad answer...)."""


@dataclass(frozen=True)
class OperatorContext:
    """Everything an operator may look at besides the parent spec."""

    rng: random.Random
    feedback: EvalRecord | None = None
    """The parent's results on the feedback (train) minibatch, when the operator needs it."""
    others: Sequence[Pipeline] = ()
    """Other high-fitness candidates (transplant, crossover)."""
    models: Sequence[str] = ()
    """Model ids a model switch may choose from."""
    run_operator: OperatorRunner | None = None
    gallery: Sequence[Pipeline] = ()
    """Innovations of earlier runs (the innovation gallery): structures already discovered,
    which the scout measures novelty against and explores from."""
    partners: list[Pipeline] = field(default_factory=list)
    """Filled by the operator: the other candidates it took material from (crossover,
    transplant). The loop records them as the child's further parents."""


class Operator(Protocol):
    """One mutation or crossover operator."""

    name: str
    level: str
    """One of :data:`Level`."""
    needs_feedback: bool

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None: ...


class OneStepOperator(ABC):
    """An operator that rewrites one step drawn from :meth:`candidates` (none drawn: None)."""

    name: str
    level: str
    needs_feedback: bool

    def candidates(self, parent: Pipeline, ctx: OperatorContext) -> Sequence[LlmStep]:
        """The steps it may rewrite: every top-level llm-like step unless overridden."""
        return llm_steps(parent)

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        step = pick(ctx, self.candidates(parent, ctx))
        return None if step is None else await self.rewrite(parent, step, ctx)

    @abstractmethod
    async def rewrite(
        self, parent: Pipeline, step: LlmStep, ctx: OperatorContext
    ) -> Pipeline | None: ...


class AfterAnswer(OneStepOperator):
    """Inserts steps after one answering step: a step of :attr:`kinds` the outputs read."""

    level = "structure"
    kinds: tuple[str, ...] = ("llm", "extract")

    def candidates(self, parent: Pipeline, ctx: OperatorContext) -> Sequence[LlmStep]:
        return answering_steps(parent, self.kinds)


def spec_data(pipeline: Pipeline) -> dict[str, Any]:
    """Full, editable plain data of a spec (every field kept, so kinds survive)."""
    return pipeline.model_dump(mode="python", by_alias=True)


def rebuild(data: dict[str, Any]) -> Pipeline:
    return Pipeline.model_validate(data)


def with_step_fields(pipeline: Pipeline, step_id: str, **fields: Any) -> Pipeline:
    """A copy of ``pipeline`` whose top-level step ``step_id`` has ``fields`` set."""
    data = spec_data(pipeline)
    step_entry(data, step_id).update(fields)
    return rebuild(data)


def answer_after(data: dict[str, Any], step_id: str, new_steps: list[dict[str, Any]]) -> Pipeline:
    """Insert ``new_steps`` right after step ``step_id``: outputs that read it read the last new
    step instead."""
    at = step_index(data, step_id)
    data["steps"][at + 1 : at + 1] = new_steps
    data["outputs"] = rewire(data["outputs"], step_id, new_steps[-1]["id"])
    return rebuild(data)


def llm_steps(pipeline: Pipeline) -> list[LlmStep]:
    """Top-level llm-like steps (``llm`` and ``extract``)."""
    return [s for s in pipeline.steps if isinstance(s, LlmStep)]


def answering_steps(
    pipeline: Pipeline, kinds: Collection[str] = ("llm", "extract")
) -> list[LlmStep]:
    """Top-level llm-like steps of ``kinds`` that the pipeline's outputs read."""
    answering = set(output_steps(pipeline))
    return [s for s in llm_steps(pipeline) if s.id in answering and s.kind in kinds]


def pick(ctx: OperatorContext, choices: Sequence[T]) -> T | None:
    """One of ``choices``, drawn with the context's RNG; None when there are none."""
    return ctx.rng.choice(choices) if choices else None


def step_index(data: dict[str, Any], step_id: str) -> int:
    for i, step in enumerate(data["steps"]):
        if step["id"] == step_id:
            return i
    raise KeyError(step_id)


def step_entry(data: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The plain data of top-level step ``step_id``, to edit in place."""
    entry: dict[str, Any] = data["steps"][step_index(data, step_id)]
    return entry


def output_steps(pipeline: Pipeline) -> list[str]:
    """Ids of top-level steps the pipeline's outputs read, in output order."""
    from evopipe.spec.templates import references

    found: list[str] = []
    for value in pipeline.outputs.values():
        if not isinstance(value, str):
            continue
        for ref in references(value):
            head = ref.path[0] if ref.path else None
            if ref.root == "steps" and isinstance(head, str) and head not in found:
                found.append(head)
    return found


def fresh_id(pipeline: Pipeline | dict[str, Any], base: str) -> str:
    """A step id not used yet, derived from ``base``."""
    steps = pipeline["steps"] if isinstance(pipeline, dict) else pipeline.steps
    taken = {s["id"] if isinstance(s, dict) else s.id for s in steps}
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def failures(record: EvalRecord | None, limit: int = 5) -> list[dict[str, Any]]:
    """The worst examples of a feedback record, as plain data for an operator pipeline."""
    if record is None:
        return []
    bad = sorted((e for e in record.examples if e.score < 1.0), key=lambda e: e.score)
    return [
        {
            "inputs": e.inputs,
            "output": e.output,
            "expected": e.expected,
            "score": e.score,
            "feedback": e.feedback or e.error or "",
        }
        for e in bad[:limit]
    ]
