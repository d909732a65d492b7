"""Parameter tweak: move one step's temperature or max_tokens."""

from __future__ import annotations

from evopipe.evolve.operators.base import OneStepOperator, OperatorContext, with_step_fields
from evopipe.spec import Pipeline
from evopipe.spec.kinds import LlmStep

TEMPERATURES = (0.0, 0.3, 0.7, 1.0)
MAX_TOKENS = (16, 64, 256, 1024)


class ParameterTweak(OneStepOperator):
    name = "params"
    level = "prompt"
    needs_feedback = False

    async def rewrite(
        self, parent: Pipeline, step: LlmStep, ctx: OperatorContext
    ) -> Pipeline | None:
        if ctx.rng.random() < 0.5:
            temperatures = [t for t in TEMPERATURES if t != step.temperature]
            return with_step_fields(parent, step.id, temperature=ctx.rng.choice(temperatures))
        max_tokens = [t for t in MAX_TOKENS if t != step.max_tokens]
        return with_step_fields(parent, step.id, max_tokens=ctx.rng.choice(max_tokens))
