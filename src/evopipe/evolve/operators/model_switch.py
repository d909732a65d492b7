"""Model switch: give one llm step another model from the run's pool (cheaper or stronger)."""

from __future__ import annotations

from evopipe.evolve.operators.base import (
    OneStepOperator,
    OperatorContext,
    llm_steps,
    with_step_fields,
)
from evopipe.spec import Pipeline
from evopipe.spec.kinds import LlmStep


class ModelSwitch(OneStepOperator):
    name = "model_switch"
    level = "structure"
    needs_feedback = False

    def candidates(self, parent: Pipeline, ctx: OperatorContext) -> list[LlmStep]:
        return llm_steps(parent) if ctx.models else []

    async def rewrite(
        self, parent: Pipeline, step: LlmStep, ctx: OperatorContext
    ) -> Pipeline | None:
        current = step.model or parent.defaults.model
        choices = [m for m in ctx.models if m != current]
        if not choices:
            return None
        return with_step_fields(parent, step.id, model=ctx.rng.choice(choices))
