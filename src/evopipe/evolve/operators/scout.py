"""Scout: explore new structure. Tries every structure-level operator on the parent and keeps
the offspring whose shape is farthest from the parent and the other candidates (novelty: the
structural distance to its nearest neighbour, :func:`evopipe.memory.innovations.
structural_distance`). Selection then keeps it only if its fitness earns a place on the front,
so a run rewards structural distance and fitness together.

The scout reads the innovation gallery (``OperatorContext.gallery``): structures earlier runs
discovered count as known, so re-finding one is not novel, and their specs are material the
explorers may transplant from — a new run starts from what the ecosystem already found.
"""

from __future__ import annotations

import random

from evopipe.evolve.operators.base import OperatorContext
from evopipe.memory.innovations import structural_distance
from evopipe.spec import Pipeline

EXPLORERS = (
    "insert_tool",
    "insert_verifier",
    "insert_ensemble",
    "insert_json_repair",
    "parallelise",
    "remove",
    "transplant",
)
"""The structure-level operators a scout tries (each with its own seeded stream)."""


def novelty(child: Pipeline, known: list[Pipeline]) -> float:
    """Distance from ``child`` to its structurally nearest known pipeline."""
    return min((structural_distance(child, k) for k in known), default=1.0)


async def explore(
    parent: Pipeline, ctx: OperatorContext
) -> list[tuple[float, Pipeline, list[Pipeline]]]:
    """Every explorer's offspring with its novelty and the partners it drew from."""
    from evopipe.evolve.operators import OPERATORS  # the table this operator is part of

    known = [parent, *ctx.others, *ctx.gallery]
    found: list[tuple[float, Pipeline, list[Pipeline]]] = []
    for name in EXPLORERS:
        trial = OperatorContext(
            rng=random.Random(f"{ctx.rng.random()}:{name}"),
            others=[*ctx.others, *ctx.gallery],
            models=ctx.models,
            run_operator=ctx.run_operator,
        )
        child = await OPERATORS[name].apply(parent, trial)
        if child is not None and child != parent:
            found.append((novelty(child, known), child, trial.partners))
    return found


class Scout:
    name = "scout"
    level = "structure"
    needs_feedback = False

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        found = await explore(parent, ctx)
        if not found:
            return None
        top = max(score for score, _, _ in found)
        _, child, partners = ctx.rng.choice([f for f in found if f[0] == top])
        ctx.partners[:] = partners
        return child
