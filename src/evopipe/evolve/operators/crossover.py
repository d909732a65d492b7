"""Crossover: uniform exchange between two aligned parents, at step and at field level.

The child keeps the first parent's structure. Shared steps (same id and kind) that differ take
their configuration from either parent — at least one from the partner, and not all when that
would just give the partner back. When one shared step is all that differs, its differing
fields (prompt, temperature, demos...) are mixed the same way. A child equal to either parent
is never returned; the partner used is recorded in ``ctx.partners`` (the loop records both
parents).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from evopipe.evolve.operators.base import OperatorContext, rebuild, spec_data
from evopipe.spec import Pipeline


class Crossover:
    name = "crossover"
    level = "crossover"
    needs_feedback = False
    applies_to = "two candidates that share a step (same id and kind) configured differently"

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        partners = list(ctx.others)
        ctx.rng.shuffle(partners)
        for other in partners:
            child = cross(spec_data(parent), spec_data(other), ctx.rng)
            if child is not None:
                ctx.partners.append(other)
                return rebuild(child)
        return None


def cross(
    mine: dict[str, Any], theirs: dict[str, Any], rng: random.Random
) -> dict[str, Any] | None:
    """A child of two specs' plain data (different from both), or None."""
    twins = {s["id"]: s for s in theirs["steps"]}
    differing = [
        i
        for i, step in enumerate(mine["steps"])
        if (twin := twins.get(step["id"])) is not None
        and twin["kind"] == step["kind"]
        and twin != step
    ]
    if not differing:
        return None
    # step level: a proper subset of the differing steps (all of them is fine when the parents
    # differ elsewhere too, e.g. in structure: the child is then still new)
    child = copy.deepcopy(mine)
    for i in _proper_subset(differing, rng) if len(differing) >= 2 else differing:
        child["steps"][i] = copy.deepcopy(twins[child["steps"][i]["id"]])
    if child not in (mine, theirs):
        return child
    # field level: one shared step differs and nothing else does: mix its differing fields
    child = copy.deepcopy(mine)
    step = child["steps"][differing[0]]
    twin = twins[step["id"]]
    fields = sorted(k for k in {*step, *twin} if step.get(k) != twin.get(k))
    if len(fields) < 2:
        return None  # mixing a single field gives back a parent
    for key in _proper_subset(fields, rng):
        step[key] = copy.deepcopy(twin.get(key))
    return child if child not in (mine, theirs) else None


def _proper_subset(items: list[Any], rng: random.Random) -> list[Any]:
    """A random non-empty subset of ``items`` that is not all of them (``len(items) >= 2``)."""
    while True:
        picked = [x for x in items if rng.random() < 0.5]
        if 0 < len(picked) < len(items):
            return picked
