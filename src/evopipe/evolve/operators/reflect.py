"""Reflect: rewrite one step's prompt from failing examples and their feedback (GEPA-style).

The rewrite is done by the operator pipeline ``library/operators/reflect.yaml``, run by the
engine; the step's data references are kept even when the rewrite drops them.
"""

from __future__ import annotations

import json

from evopipe.evolve.operators._text import keep_references
from evopipe.evolve.operators.base import OperatorContext, failures, llm_steps, with_step_fields
from evopipe.spec import Pipeline


class Reflect:
    name = "reflect"
    level = "prompt"
    needs_feedback = True

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        bad = failures(ctx.feedback)
        steps = llm_steps(parent)
        if not bad or not steps or ctx.run_operator is None:
            return None
        step = ctx.rng.choice(steps)
        out = await ctx.run_operator(
            "reflect",
            {
                "prompt": step.prompt,
                "system": step.system or "",
                "failures": json.dumps(bad, ensure_ascii=False, default=str, indent=1),
            },
        )
        text = out.get("prompt")
        if not isinstance(text, str) or not text.strip():
            return None
        return with_step_fields(parent, step.id, prompt=keep_references(step.prompt, text))
