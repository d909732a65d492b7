"""Transplant: copy an answering sub-graph from another high-fitness pipeline.

Takes a step the donor's outputs read and that the parent lacks, together with the donor steps
it needs that the parent lacks too, and points the parent's shared outputs at the donor's.
"""

from __future__ import annotations

from evopipe.evolve.genome import step_dependencies
from evopipe.evolve.operators.base import OperatorContext, output_steps, rebuild, spec_data
from evopipe.spec import Pipeline


class Transplant:
    name = "transplant"
    level = "structure"
    needs_feedback = False
    applies_to = "a donor candidate whose outputs read a step this pipeline lacks"

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        have = {s.id for s in parent.steps}
        donors = [
            d
            for d in ctx.others
            if any(sid not in have for sid in output_steps(d))
            and set(d.outputs) & set(parent.outputs)
        ]
        if not donors:
            return None
        donor = ctx.rng.choice(donors)
        ctx.partners.append(donor)
        deps = step_dependencies(donor)
        wanted: list[str] = []
        stack = [sid for sid in output_steps(donor) if sid not in have]
        while stack:
            sid = stack.pop()
            if sid in wanted or sid in have:
                continue
            wanted.append(sid)
            stack.extend(deps[sid])
        donor_data = spec_data(donor)
        data = spec_data(parent)
        order = [s for s in donor_data["steps"] if s["id"] in wanted]
        data["steps"].extend(order)
        for key in set(donor.outputs) & set(parent.outputs):
            data["outputs"][key] = donor_data["outputs"][key]
        return rebuild(data)
