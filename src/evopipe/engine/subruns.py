"""Scopes inside a run: sub-pipelines (depth + 1) and inner step lists (map items, loops)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evopipe.engine.budget import Budget, BudgetExceeded, Limits
from evopipe.engine.inputs import resolve_inputs
from evopipe.engine.policy import Policy
from evopipe.engine.replay import replay_key
from evopipe.engine.scheduler import ScopeRunner
from evopipe.engine.types import RunResult, RunStatus, StepRecord, StepStatus
from evopipe.spec.base import StepBase
from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline
from evopipe.steps.base import ScopeResult, StepFailed

if TYPE_CHECKING:
    from evopipe.engine.state import Scope


def limits_of(pipeline: Pipeline) -> Limits:
    lim = pipeline.limits
    return Limits(lim.max_steps, lim.max_tokens, lim.max_cost_usd, lim.timeout_s)


def scope_records(scope: Scope, status: RunStatus) -> list[StepRecord]:
    """Records in plan order; steps that never started are ``pending`` while the scope may
    still get to them (``succeeded`` or ``waiting``), ``not_run`` when it ended without them."""
    unstarted: StepStatus = "pending" if status in ("succeeded", "waiting") else "not_run"
    return [scope.records.get(sid) or StepRecord(sid, unstarted) for sid in scope.plan.order]


def render_outputs(scope: Scope) -> dict[str, Any]:
    pipeline = scope.pipeline
    renderer = scope.state.renderer
    if not pipeline.outputs:
        last = scope.records.get(scope.plan.last)
        return {scope.plan.last: last.output if last else None}
    return {
        name: renderer.render(value, scope.namespace, f"outputs.{name}")
        for name, value in pipeline.outputs.items()
    }


def final_outputs(
    scope: Scope, status: RunStatus, error: str | None, where: str
) -> tuple[RunStatus, str | None, dict[str, Any]]:
    """Status, error and outputs of a finished scope: the outputs are rendered only when it
    succeeded, and a rendering error fails it (the error then starts with ``where``)."""
    if status != "succeeded":
        return status, error, {}
    try:
        return status, error, render_outputs(scope)
    except EvopipeError as exc:
        return "failed", f"{where}: {exc}", {}


def tighten(parent: Policy, requested: Policy | None) -> Policy:
    """A child's policy: the requested one, but never more trusting than the parent's."""
    if requested is None:
        return parent
    if not parent.trusted and requested.trusted:
        return parent.as_untrusted()
    return requested


async def run_scope(scope: Scope) -> tuple[RunStatus, str | None, list[str]]:
    """Run a scope under its own deadline; status, error, ids waiting for approval."""
    runner = ScopeRunner(scope)
    remaining = scope.budget.remaining_s()
    try:
        if remaining is None:
            await runner.run()
        else:
            async with asyncio.timeout(max(remaining, 0.0)):
                await runner.run()
    except TimeoutError:
        raise scope.budget.fail_timeout() from None
    if runner.failed is not None:
        return "failed", runner.failed.error, runner.waiting
    if runner.waiting:
        return "waiting", None, runner.waiting
    return "succeeded", None, []


async def run_subpipeline(
    parent: Scope,
    step_path: str,
    pipeline: Pipeline | str,
    inputs: Mapping[str, Any],
    *,
    scope: str | None,
    policy: Policy | None,
) -> RunResult:
    state = parent.state
    depth = parent.depth + 1
    if depth > state.max_depth:
        raise StepFailed(
            step_path,
            f"depth-exceeded: sub-pipeline depth {depth} exceeds limits.max_depth="
            f"{state.max_depth}",
        )
    base_dir = parent.base_dir
    if isinstance(pipeline, str):
        path = (parent.base_dir / pipeline).resolve()
        pipeline = state.load_pipeline(path)
        base_dir = path.parent
    from evopipe.engine.state import Scope

    plan = state.plan_for(pipeline, base_dir)
    resolved = resolve_inputs(pipeline, inputs)
    budget = Budget(limits_of(pipeline), parent=parent.budget)
    prefix = f"{step_path}{scope or ''}/"
    run_id = f"{state.run_id}/{prefix[:-1]}"
    child = Scope(
        state,
        pipeline,
        plan,
        prefix=prefix,
        namespace={"inputs": resolved, "run": {"id": run_id}},
        budget=budget,
        depth=depth,
        base_dir=base_dir,
        policy=tighten(parent.policy, policy),
        max_concurrency=pipeline.limits.max_concurrency,
    )
    key = replay_key(state.services.plans.spec_hash(pipeline), resolved)
    if state.replay and state.subrun_keys.get(prefix[:-1]) != key:
        _forget(state.replay, prefix)  # another spec or inputs than before: run it whole
    state.emit(
        "subrun_started",
        prefix[:-1],
        {"pipeline": pipeline.name, "depth": depth, "replay_key": key},
    )
    try:
        status, error, waiting = await run_scope(child)
    except BudgetExceeded as exc:
        if exc.owner is not budget:
            raise
        return _sub_result(child, run_id, "budget_exceeded", str(exc), exc.budget, ())
    status, error, outputs = final_outputs(child, status, error, f"outputs of {pipeline.name!r}")
    return _sub_result(child, run_id, status, error, None, tuple(waiting), outputs)


def _forget(replay: dict[str, Any], prefix: str) -> None:
    for path in [p for p in replay if p.startswith(prefix)]:
        del replay[path]


def _sub_result(
    child: Scope,
    run_id: str,
    status: RunStatus,
    error: str | None,
    budget: str | None,
    waiting: tuple[str, ...],
    outputs: dict[str, Any] | None = None,
) -> RunResult:
    result = RunResult(
        run_id=run_id,
        status=status,
        outputs=outputs or {},
        usage=child.budget.usage(),
        steps=scope_records(child, status),
        error=error,
        budget=budget,
        waiting_on=waiting,
    )
    child.state.emit("subrun_finished", child.prefix[:-1], {"status": status, "error": error})
    return result


async def run_inner_steps(
    parent: Scope,
    step_path: str,
    steps: list[StepBase],
    extra: Mapping[str, Any],
    label: str,
    max_concurrency: int | None,
) -> ScopeResult:
    from evopipe.engine.state import Scope

    state = parent.state
    outer_ids = frozenset(parent.plan.steps) | frozenset(_outer_step_ids(parent))
    plan = state.scope_plan(steps, outer_ids, f"{step_path}.steps")
    child = Scope(
        state,
        parent.pipeline,
        plan,
        prefix=f"{step_path}{label}.",
        namespace={**parent.namespace, **extra},
        budget=parent.budget,
        depth=parent.depth,
        base_dir=parent.base_dir,
        policy=parent.policy,
        max_concurrency=max_concurrency,
        outer_steps=parent.namespace["steps"],
    )
    status, error, _waiting = await run_scope(child)
    outputs = {sid: rec.output for sid, rec in child.records.items()}
    last = None
    for step in reversed(steps):
        rec = child.records.get(step.id)
        if rec is not None and rec.status == "succeeded":
            last = rec.output
            break
    return ScopeResult(
        status=status if status != "budget_exceeded" else "failed",
        outputs=outputs,
        steps=scope_records(child, status),
        last_output=last,
        error=error,
        namespace=child.namespace,
    )


def _outer_step_ids(scope: Scope) -> list[str]:
    steps = scope.namespace.get("steps")
    return list(steps.keys()) if isinstance(steps, Mapping) else []
