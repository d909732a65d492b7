"""Evolving the evolver: an LLM-driven operator's own pipeline as the candidate.

The fitness of an operator pipeline ``O`` is what it does to a reference task: ``O`` (run by
the engine, in place of the shipped one) is applied once to the reference pipeline, with the
reference's failures on the feedback minibatch; the offspring is then evaluated on the split.
The per-example scores are the offspring's, so the mean is the reference's quality plus the
improvement ``O`` produced (an offspring equal to the reference scores as the reference).
"""

from __future__ import annotations

import random
from dataclasses import KW_ONLY, dataclass

from evopipe.evolve.fitness import EvalRecord, Evaluator, ExampleResult
from evopipe.evolve.genome import candidate_id
from evopipe.evolve.operator_runner import EngineOperatorRunner
from evopipe.evolve.operators import OPERATORS, OperatorContext, OperatorError
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError

OPERATOR_PIPELINES: dict[str, str] = {"reflect": "reflect", "instruction": "instruction_variant"}
"""Operator name → its pipeline in ``library/operators`` (the evolvable operators)."""

FEEDBACK_SIZE = 8


@dataclass(eq=False)
class OperatorFitness:
    """An :class:`Evaluator` of operator pipelines through a reference task."""

    operator: str
    reference: Pipeline
    task: Evaluator
    runner: EngineOperatorRunner
    _: KW_ONLY
    feedback_split: str = "train"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.operator not in OPERATOR_PIPELINES:
            raise EvopipeError(
                f"operator {self.operator!r} has no pipeline to evolve; "
                f"choose from {', '.join(OPERATOR_PIPELINES)}"
            )

    @property
    def dataset_key(self) -> str:
        ref = candidate_id(self.reference)[:16]
        return f"op:{self.operator}:{ref}:{self.task.dataset_key}"[:128]

    def split_size(self, split: str) -> int:
        return self.task.split_size(split)

    async def evaluate(
        self, pipeline: Pipeline, split: str, *, limit: int | None = None
    ) -> EvalRecord:
        feedback = await self.task.evaluate(
            self.reference, self.feedback_split, limit=FEEDBACK_SIZE
        )
        name = OPERATOR_PIPELINES[self.operator]
        runner = EngineOperatorRunner(
            self.runner.services, model=self.runner.model, overrides={name: pipeline}
        )
        calls = 0
        cost = 0.0

        async def metered(op_name: str, inputs: dict[str, object]) -> dict[str, object]:
            nonlocal calls, cost
            out = await runner(op_name, dict(inputs))
            usage = out.pop("__usage__", {})
            if isinstance(usage, dict):
                calls += int(usage.get("calls", 0))
                cost += float(usage.get("cost_usd") or 0.0)  # unknown price: known part
            return out

        ctx = OperatorContext(rng=random.Random(self.seed), feedback=feedback, run_operator=metered)
        try:
            child = await OPERATORS[self.operator].apply(self.reference, ctx)
        except (OperatorError, EvopipeError):
            child = None
        record = await self.task.evaluate(child or self.reference, split, limit=limit)
        overhead = calls + feedback.calls
        return EvalRecord(split, _charge(record.examples, overhead, cost + feedback.cost_usd))


def _charge(
    examples: tuple[ExampleResult, ...], calls: int, cost: float
) -> tuple[ExampleResult, ...]:
    """Put the operator's own spend on the first example, so totals stay right."""
    if not examples:
        return examples
    first = examples[0]
    head = ExampleResult(
        **{**first.__dict__, "calls": first.calls + calls, "cost_usd": first.cost_usd + cost}
    )
    return (head, *examples[1:])
