"""Model switch: give one llm step another model from the run's pool (cheaper or stronger)."""

from __future__ import annotations

from evopipe.evolve.operators.base import OperatorContext, llm_steps, pick, with_step_fields
from evopipe.spec import Pipeline


class ModelSwitch:
    name = "model_switch"
    level = "structure"
    needs_feedback = False

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        step = pick(ctx, llm_steps(parent)) if ctx.models else None
        if step is None:
            return None
        current = step.model or parent.defaults.model
        choices = [m for m in ctx.models if m != current]
        if not choices:
            return None
        return with_step_fields(parent, step.id, model=ctx.rng.choice(choices))
