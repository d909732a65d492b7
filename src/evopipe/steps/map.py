"""``map``: fan out over a list, running inner steps or a sub-pipeline once per item.

``over`` must render to a list (a clear error names what it rendered to instead). Each item
runs in its own scope named ``<id>[<index>]`` with ``item`` and ``index`` in the template
namespace, either as inner ``steps`` (a small DAG; inner ``steps.<id>`` shadow outer ones) or as
a ``pipeline`` (path relative to the pipeline's file, or inline) whose ``inputs`` are templates.

Results come back **in input order**: each item's result is the ``collect`` template rendered in
the item's final namespace (for a sub-pipeline: ``item``, ``index`` and ``outputs``), or by
default the last inner step's output (for a sub-pipeline: its outputs).

Concurrency: at most ``max_concurrency`` items at a time (else ``limits.max_concurrency`` of the
pipeline, else all), run by a fixed pool of workers so a large list never creates a task per
item. The number of items is capped by the policy's ``max_map_items``: a longer list fails the
step at once with the budget ``max_map_items`` named, before any item runs.

The first failing item fails the map (the others are cancelled) with the item's index in the
error; an item waiting on an approval makes the map wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

from evopipe.engine.budget import BudgetExceeded
from evopipe.spec.kinds import MapStep
from evopipe.steps.base import StepContext, StepFailed, StepResult
from evopipe.steps.scopes import ScopeOutcome, first_error, run_scope

kind = "map"
config_model = MapStep


def items_of(ctx: StepContext, config: MapStep) -> list[Any]:
    """Render ``over`` and check it is a list within the policy's item budget."""
    items = ctx.render(config.over, where="over")
    if isinstance(items, tuple):
        items = list(items)
    if not isinstance(items, list):
        shown = type(items).__name__
        raise StepFailed(
            ctx.step_id,
            f"`over` must render to a list, got {shown} {items!r:.80}"
            + (
                " (a string: did you mean to split it, or forget the {{ }} ?)"
                if shown == "str"
                else ""
            ),
        )
    limit = ctx.policy.max_map_items
    if len(items) > limit:
        raise BudgetExceeded(
            "max_map_items",
            f"step {ctx.step_id!r} maps over {len(items)} items, limit {limit}",
        )
    return items


async def run(ctx: StepContext, config: MapStep) -> StepResult:
    if (config.steps is None) == (config.pipeline is None):
        raise StepFailed(ctx.step_id, "a map needs exactly one of `steps` or `pipeline`")
    items = items_of(ctx, config)
    if not items:
        return StepResult(output=[], meta={"items": 0})
    width = config.max_concurrency or ctx.pipeline.limits.max_concurrency or len(items)
    results: list[Any] = [None] * len(items)
    outcomes: list[ScopeOutcome | None] = [None] * len(items)
    cursor = iter(range(len(items)))

    async def worker() -> None:
        for index in cursor:
            extra = {"item": items[index], "index": index}
            outcome = await run_scope(ctx, config, extra, scope=f"[{index}]", what=f"item {index}")
            outcomes[index] = outcome
            if outcome.waiting:
                return
            results[index] = outcome.result(ctx, config.collect)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(width, len(items))):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        raise first_error(errors) from None
    waiting = [i for i, o in enumerate(outcomes) if o is not None and o.waiting]
    if waiting:
        return StepResult(status="waiting", meta={"items": len(items), "waiting_items": waiting})
    return StepResult(output=results, meta={"items": len(items)})
