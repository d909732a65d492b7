"""Parameter tweak: move one step's temperature or max_tokens."""

from __future__ import annotations

from evopipe.evolve.operators.base import (
    OperatorContext,
    llm_steps,
    rebuild,
    spec_data,
    step_index,
)
from evopipe.spec import Pipeline

TEMPERATURES = (0.0, 0.3, 0.7, 1.0)
MAX_TOKENS = (16, 64, 256, 1024)


class ParameterTweak:
    name = "params"
    level = "prompt"
    needs_feedback = False

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        steps = llm_steps(parent)
        if not steps:
            return None
        step = ctx.rng.choice(steps)
        data = spec_data(parent)
        entry = data["steps"][step_index(data, step.id)]
        if ctx.rng.random() < 0.5:
            choices = [t for t in TEMPERATURES if t != step.temperature]
            entry["temperature"] = ctx.rng.choice(choices)
        else:
            choices = [t for t in MAX_TOKENS if t != step.max_tokens]
            entry["max_tokens"] = ctx.rng.choice(choices)
        return rebuild(data)
