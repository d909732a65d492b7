"""Demo selection by search: labeled examples chosen to cover the answers and the failures.

Unlike ``bootstrap`` (random successful traces), this operator searches the feedback
minibatch for the demo set that scores best on a free objective — no model call, nothing
written by an operator model: each demo is an example's input with its **reference** answer
(a weak model's own traces are mostly wrong). Greedy search over the pool, one demo at a
time, maximising (distinct reference answers covered, summed similarity of every failing
example to its nearest demo); ties go to the earlier example. The seeded RNG only picks the
number of demos (2 to 4).
"""

from __future__ import annotations

import re
from typing import Any

from evopipe.evolve.fitness import ExampleResult
from evopipe.evolve.operators._answers import answering_llm_steps
from evopipe.evolve.operators._text import render_inputs
from evopipe.evolve.operators.base import OperatorContext, rebuild, spec_data, step_index
from evopipe.spec import Pipeline

_TOKEN = re.compile(r"\w+")


def _tokens(inputs: dict[str, Any]) -> frozenset[str]:
    return frozenset(t.casefold() for v in inputs.values() for t in _TOKEN.findall(str(v)))


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def select_demos(examples: tuple[ExampleResult, ...], k: int) -> list[ExampleResult]:
    """The ``k`` labeled examples a greedy search picks (see the module doc)."""
    pool = [e for e in examples if e.expected is not None]
    failing = [_tokens(e.inputs) for e in examples if e.score < 1.0]
    chosen: list[ExampleResult] = []

    def value(demos: list[ExampleResult]) -> tuple[int, float]:
        covered = len({str(d.expected).strip() for d in demos})
        toks = [_tokens(d.inputs) for d in demos]
        near = sum(max((_similarity(f, t) for t in toks), default=0.0) for f in failing)
        return covered, near

    while len(chosen) < min(k, len(pool)):
        rest = [e for e in pool if e not in chosen]
        chosen.append(max(rest, key=lambda e: value([*chosen, e])))
    return chosen


class DemoSelect:
    name = "demo_select"
    level = "prompt"
    needs_feedback = True

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        steps = answering_llm_steps(parent)
        if ctx.feedback is None or not steps:
            return None
        step = ctx.rng.choice(steps)
        picked = select_demos(ctx.feedback.examples, ctx.rng.choice((2, 3, 4)))
        if len(picked) < 2:
            return None
        demos = [
            {"input": render_inputs(step.prompt, e.inputs), "output": str(e.expected).strip()}
            for e in picked
        ]
        if demos == [d.model_dump() for d in step.demos]:
            return None
        data = spec_data(parent)
        data["steps"][step_index(data, step.id)]["demos"] = demos
        return rebuild(data)
