"""``pipeline``: run a sub-pipeline, by path (relative to this pipeline's file) or inline.

``inputs`` are templates rendered in the parent's namespace. The sub-pipeline runs as part of
this run: one level deeper (``limits.max_depth`` bounds the nesting; going deeper fails with
``depth-exceeded``), under the same policy, with its steps, tokens, cost and time counted
against the parent's budgets. Output: the sub-pipeline's outputs.

A failed sub-run fails this step with the sub-run's error. An overrun of the sub-pipeline's own
``limits`` fails this step naming the budget; an overrun of the parent's budgets ends the whole
run with ``budget_exceeded``. A sub-run waiting on an approval makes this step wait.
"""

from __future__ import annotations

import asyncio

from evopipe.engine.types import RunResult
from evopipe.spec.kinds import PipelineStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "pipeline"
config_model = PipelineStep


def check_depth(ctx: StepContext) -> None:
    """Refuse to go one level deeper than ``limits.max_depth`` allows (``depth-exceeded``)."""
    limit = ctx.pipeline.limits.max_depth
    if ctx.depth + 1 > limit:
        raise StepFailed(
            ctx.step_id,
            f"depth-exceeded: a sub-pipeline here would run at depth {ctx.depth + 1}, "
            f"over limits.max_depth={limit}",
        )


def sub_run_result(ctx: StepContext, result: RunResult, what: str) -> StepResult:
    """Translate a sub-run's outcome into this step's result (shared with ``generate``)."""
    if result.status == "succeeded":
        return StepResult(output=dict(result.outputs), meta={"sub_run_id": result.run_id})
    if result.status == "waiting":
        return StepResult(
            status="waiting",
            meta={"sub_run_id": result.run_id, "waiting_on": list(result.waiting_on)},
        )
    if result.status == "budget_exceeded":
        raise StepFailed(
            ctx.step_id, f"{what} exceeded its own budget {result.budget}: {result.error}"
        )
    if result.status == "cancelled":
        raise asyncio.CancelledError(f"{what} was cancelled")
    raise StepFailed(ctx.step_id, f"{what} failed: {result.error or result.status}")


async def run(ctx: StepContext, config: PipelineStep) -> StepResult:
    check_depth(ctx)
    inputs = ctx.render(config.inputs, where="inputs")
    if not isinstance(inputs, dict):
        raise StepFailed(ctx.step_id, "sub-pipeline inputs must render to a mapping")
    result = await ctx.run_pipeline(config.pipeline, inputs)
    name = config.pipeline if isinstance(config.pipeline, str) else config.pipeline.name
    return sub_run_result(ctx, result, f"sub-pipeline {name!r}")
