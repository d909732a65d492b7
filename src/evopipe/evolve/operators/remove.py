"""Remove a step: a dead step, or a step whose readers are pointed at its single upstream step."""

from __future__ import annotations

from evopipe.evolve.genome import step_dependencies
from evopipe.evolve.operators._text import rewire
from evopipe.evolve.operators.base import OperatorContext, rebuild, spec_data, step_index
from evopipe.spec import Pipeline


class RemoveStep:
    name = "remove"
    level = "structure"
    needs_feedback = False

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        if len(parent.steps) < 2:
            return None
        deps = step_dependencies(parent)
        readers = {s.id: [r for r, d in deps.items() if s.id in d] for s in parent.steps}
        outputs_text = str(parent.outputs)
        candidates = [
            s.id
            for s in parent.steps
            if len(deps[s.id]) == 1 or (not readers[s.id] and f"steps.{s.id}." not in outputs_text)
        ]
        if not candidates:
            return None
        victim = ctx.rng.choice(sorted(candidates))
        data = spec_data(parent)
        del data["steps"][step_index(data, victim)]
        if deps[victim]:
            (upstream,) = deps[victim] if len(deps[victim]) == 1 else (None,)
            if upstream is not None:
                data["outputs"] = rewire(data["outputs"], victim, upstream)
                data["steps"] = [
                    {**rewire(s, victim, upstream), "needs": _swap(s["needs"], victim, upstream)}
                    for s in data["steps"]
                ]
        data["steps"] = [
            {**s, "needs": [n for n in s["needs"] if n != victim]} for s in data["steps"]
        ]
        if not data["steps"]:
            return None
        return rebuild(data)


def _swap(needs: list[str], old: str, new: str) -> list[str]:
    out: list[str] = []
    for n in needs:
        m = new if n == old else n
        if m not in out:
            out.append(m)
    return out
