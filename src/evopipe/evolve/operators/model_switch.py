"""Model switch: give one llm step another model from the run's pool (cheaper or stronger)."""

from __future__ import annotations

from evopipe.evolve.operators.base import (
    OperatorContext,
    llm_steps,
    rebuild,
    spec_data,
    step_index,
)
from evopipe.spec import Pipeline


class ModelSwitch:
    name = "model_switch"
    level = "structure"
    needs_feedback = False

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        steps = llm_steps(parent)
        if not steps or not ctx.models:
            return None
        step = ctx.rng.choice(steps)
        current = step.model or parent.defaults.model
        choices = [m for m in ctx.models if m != current]
        if not choices:
            return None
        data = spec_data(parent)
        data["steps"][step_index(data, step.id)]["model"] = ctx.rng.choice(choices)
        return rebuild(data)
