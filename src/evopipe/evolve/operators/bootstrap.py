"""Few-shot bootstrap: demos from the parent's successful traces, into a step's ``demos``.

When the feedback minibatch has fewer successes than demo slots, labeled examples fill the
rest (their reference answer as the demo output), as DSPy's LabeledFewShot does.
"""

from __future__ import annotations

import json
from typing import Any

from evopipe.evolve.fitness import EvalRecord
from evopipe.evolve.operators._text import render_inputs
from evopipe.evolve.operators.base import OperatorContext, answering_steps, with_step_fields
from evopipe.spec import Pipeline

MAX_DEMOS = 3


class FewShotBootstrap:
    name = "bootstrap"
    level = "prompt"
    needs_feedback = True

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        if ctx.feedback is None:
            return None
        steps = answering_steps(parent)
        pool = _demo_pool(ctx.feedback)
        if not pool or not steps:
            return None
        step = ctx.rng.choice(steps)
        wins = [p for p in pool if p[2]]
        labeled = [p for p in pool if not p[2]]
        picked = ctx.rng.sample(wins, min(MAX_DEMOS, len(wins)))
        picked += ctx.rng.sample(labeled, min(MAX_DEMOS - len(picked), len(labeled)))
        demos = [{"input": render_inputs(step.prompt, i), "output": o} for i, o, _ in picked]
        if demos == [d.model_dump() for d in step.demos]:
            return None
        return with_step_fields(parent, step.id, demos=demos)


def _text(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _demo_pool(feedback: EvalRecord) -> list[tuple[dict[str, Any], str, bool]]:
    """(inputs, demo output, from a successful trace?) for every usable example.

    Successful traces give their own output; failed examples with a reference answer give
    the reference (labeled few-shot), used only when there are too few successes.
    """
    pool: list[tuple[dict[str, Any], str, bool]] = []
    for e in feedback.examples:
        if e.score >= 1.0 and e.error is None and e.output is not None:
            pool.append((e.inputs, _text(e.output), True))
        elif e.expected is not None:
            pool.append((e.inputs, _text(e.expected), False))
    return pool
