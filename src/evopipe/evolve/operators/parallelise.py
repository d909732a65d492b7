"""Reorder / parallelise: drop an explicit ``needs`` edge that no data flow requires.

Two steps chained only by ``needs`` (not by a template reference) can run side by side; this
operator removes one such edge. When there is none it returns None: reordering the listing of
independent steps would not change behaviour.
"""

from __future__ import annotations

from evopipe.evolve.operators.base import OperatorContext, rebuild, spec_data, step_entry
from evopipe.spec import Pipeline
from evopipe.spec.templates import references


def _data_deps(step_templates: dict[str, str]) -> set[str]:
    found: set[str] = set()
    for text in step_templates.values():
        for ref in references(text):
            if ref.root == "steps" and ref.path and isinstance(ref.path[0], str):
                found.add(ref.path[0])
    return found


class Parallelise:
    name = "parallelise"
    level = "structure"
    needs_feedback = False
    applies_to = "a `needs` edge that no template reference requires"

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        edges = [
            (s.id, n)
            for s in parent.steps
            if s.kind != "switch"
            for n in s.needs
            if n not in _data_deps(s.templates())
        ]
        if not edges:
            return None
        sid, dropped = ctx.rng.choice(sorted(edges))
        data = spec_data(parent)
        entry = step_entry(data, sid)
        entry["needs"] = [n for n in entry["needs"] if n != dropped]
        return rebuild(data)
