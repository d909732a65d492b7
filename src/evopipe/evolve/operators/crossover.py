"""Crossover: uniform exchange of step configurations between two aligned parents.

The child keeps the first parent's structure; each step id that both parents have takes its
configuration from either parent with even odds. Parents with no shared llm-like step, or
children equal to a parent, give None.
"""

from __future__ import annotations

from evopipe.evolve.operators.base import OperatorContext, rebuild, spec_data
from evopipe.spec import Pipeline


class Crossover:
    name = "crossover"
    level = "crossover"
    needs_feedback = False

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        if not ctx.others:
            return None
        other = ctx.rng.choice(list(ctx.others))
        mine = spec_data(parent)
        theirs = {s["id"]: s for s in spec_data(other)["steps"]}
        changed = False
        for i, step in enumerate(mine["steps"]):
            twin = theirs.get(step["id"])
            if twin is None or twin["kind"] != step["kind"] or twin == step:
                continue
            if ctx.rng.random() < 0.5:
                mine["steps"][i] = twin
                changed = True
        return rebuild(mine) if changed else None
