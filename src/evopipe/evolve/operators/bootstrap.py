"""Few-shot bootstrap: demos taken from the parent's successful examples, into a step's demos."""

from __future__ import annotations

import json

from evopipe.evolve.operators._text import render_inputs
from evopipe.evolve.operators.base import (
    OperatorContext,
    llm_steps,
    output_steps,
    rebuild,
    spec_data,
    step_index,
)
from evopipe.spec import Pipeline

MAX_DEMOS = 3


class FewShotBootstrap:
    name = "bootstrap"
    level = "prompt"
    needs_feedback = True

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        if ctx.feedback is None:
            return None
        wins = [e for e in ctx.feedback.examples if e.score >= 1.0 and e.error is None]
        answering = set(output_steps(parent))
        steps = [s for s in llm_steps(parent) if s.id in answering]
        if not wins or not steps:
            return None
        step = ctx.rng.choice(steps)
        picked = ctx.rng.sample(wins, min(MAX_DEMOS, len(wins)))
        demos = []
        for example in picked:
            output = example.output
            if isinstance(output, dict) and len(output) == 1:
                output = next(iter(output.values()))
            text = output if isinstance(output, str) else json.dumps(output, default=str)
            demos.append({"input": render_inputs(step.prompt, example.inputs), "output": text})
        if demos == [d.model_dump() for d in step.demos]:
            return None
        data = spec_data(parent)
        data["steps"][step_index(data, step.id)]["demos"] = demos
        return rebuild(data)
