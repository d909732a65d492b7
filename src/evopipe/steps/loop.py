"""``loop``: repeat inner steps (or a sub-pipeline) until a condition holds.

Each iteration runs in its own scope ``<id>#<n>`` with ``loop`` in the namespace:

- ``loop.iteration`` — 1 for the first iteration;
- ``loop.previous`` — the previous iteration's outputs (inner step id → output, or the
  sub-pipeline's outputs), null in the first iteration.

After each iteration ``until`` (a condition of the safe condition language) is evaluated in the
iteration's final namespace (inner ``steps.<id>`` shadow outer ones; for a sub-pipeline,
``outputs`` holds its outputs). When it holds the loop stops.

Output: ``{"iterations": n, "converged": bool, "outputs": {...}, "last": ...}`` where
``outputs`` are the last iteration's outputs and ``last`` its default result (the last inner
step's output, or the sub-pipeline's outputs).

**Rule when ``max_iterations`` runs out:** the step *succeeds* with ``converged: false`` (the
last iteration's work is usually the best available, and a later step or ``when`` can test
``steps.<id>.output.converged``). A pipeline that must fail instead adds a step with
``when: "not steps.<id>.output.converged"`` — or limits the whole run with ``limits``.
Every iteration's steps count against the run's ``max_steps``, tokens, cost and time budgets,
so an endless loop ends with ``budget_exceeded`` naming the budget.
"""

from __future__ import annotations

from typing import Any

from evopipe.spec.kinds import LoopStep
from evopipe.steps.base import StepContext, StepFailed, StepResult
from evopipe.steps.scopes import run_scope

kind = "loop"
config_model = LoopStep


async def run(ctx: StepContext, config: LoopStep) -> StepResult:
    if (config.steps is None) == (config.pipeline is None):
        raise StepFailed(ctx.step_id, "a loop needs exactly one of `steps` or `pipeline`")
    previous: dict[str, Any] | None = None
    for iteration in range(1, config.max_iterations + 1):
        loop_ns = {"iteration": iteration, "index": iteration - 1, "previous": previous}
        outcome = await run_scope(
            ctx,
            config,
            {"loop": loop_ns},
            scope=f"#{iteration}",
            what=f"iteration {iteration}",
        )
        if outcome.waiting:
            return StepResult(status="waiting", meta={"iteration": iteration})
        done = ctx.evaluate(config.until, extra=outcome.namespace)
        output = {
            "iterations": iteration,
            "converged": done,
            "outputs": outcome.outputs,
            "last": outcome.default,
        }
        if done:
            return StepResult(output=output, meta={"iterations": iteration})
        previous = outcome.outputs
    ctx.emit("loop_exhausted", iterations=config.max_iterations)
    return StepResult(output=output, meta={"iterations": config.max_iterations})
