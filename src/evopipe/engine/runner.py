"""Entry points of the engine: run, resume and fork a pipeline (async; sync wrappers)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from evopipe.engine.budget import Budget, BudgetExceeded, Limits
from evopipe.engine.events import EventBus
from evopipe.engine.inputs import resolve_inputs
from evopipe.engine.journal import JournalError, JournalStore, JournalWriter
from evopipe.engine.plan import Plan
from evopipe.engine.replay import (
    ResumeRefused,
    fork_replay,
    load_replay,
    stored_pipeline,
)
from evopipe.engine.secrets import Masker, inputs_for_resume
from evopipe.engine.state import Replayed, RunState, Scope, check_options
from evopipe.engine.subruns import final_outputs, limits_of, run_scope, scope_records
from evopipe.engine.types import RunOptions, RunResult, RunStatus, Services
from evopipe.spec.canonical import spec_hash
from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline

__all__ = ["ResumeRefused", "resume_run", "run_pipeline", "run_pipeline_sync"]


def new_run_id() -> str:
    """Time-ordered, unique: ``<ms since epoch, hex>-<random>``."""
    return f"{int(time.time() * 1000):011x}-{secrets.token_hex(4)}"


def _tighter(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _root_limits(pipeline: Pipeline, options: RunOptions) -> Limits:
    own = limits_of(pipeline)
    return Limits(
        max_steps=_tighter(own.max_steps, options.max_steps),  # type: ignore[arg-type]
        max_tokens=_tighter(own.max_tokens, options.max_tokens),  # type: ignore[arg-type]
        max_cost_usd=_tighter(own.max_cost_usd, options.max_cost_usd),
        timeout_s=_tighter(own.timeout_s, options.timeout_s),
    )


def _state(run_id: str, services: Services, options: RunOptions, seq: int) -> RunState:
    bus = EventBus()
    journal = None
    if services.store is not None:
        journal = JournalWriter(services.store, run_id, durability=options.durability)
        bus.subscribe(journal)
    if services.bus is not None:
        bus.subscribe(services.bus)
    return RunState(run_id, services, options, bus=bus, journal=journal, seq=seq)


async def run_pipeline(
    pipeline: Pipeline,
    inputs: Mapping[str, Any],
    *,
    services: Services,
    options: RunOptions | None = None,
) -> RunResult:
    """Run ``pipeline`` with ``inputs``; journaled when ``services.store`` is set.

    Raises :class:`~evopipe.spec.errors.SpecError` for a broken spec and
    :class:`~evopipe.engine.inputs.InputError` for bad inputs (nothing runs); every failure
    during the run is reported in the result's ``status``/``error`` instead.
    """
    options = options or RunOptions()
    plan = services.plans.pipeline(pipeline, check_options(services, services.base_dir))
    resolved = resolve_inputs(pipeline, inputs)
    run_id = options.run_id or new_run_id()
    shash = services.plans.spec_hash(pipeline)
    store: JournalStore | None = services.store
    replay = {}
    if options.fork_from:
        if store is None:
            raise JournalError("--fork-from needs a store (the source run's journal)")
        replay = fork_replay(store, options.fork_from, pipeline, plan, resolved)
    masker = Masker.for_inputs(pipeline, resolved)
    if store is not None:
        store.create_run(
            run_id=run_id,
            pipeline_name=pipeline.name,
            spec_hash=shash,
            spec_json=services.plans.spec_json(pipeline),
            inputs=resolved if masker is None else masker.value(resolved),
        )
    state = _state(run_id, services, options, seq=0)
    state.masker = masker
    state.replay = replay
    state.emit(
        "run_started",
        None,
        {
            "pipeline": pipeline.name,
            "spec_hash": shash,
            "inputs": resolved,
            "base_dir": str(services.base_dir),
            "forked_from": options.fork_from,
            "source": options.source,
            "model": options.model,
            "workspace": str(options.workspace) if options.workspace else None,
            "depth": 0,
        },
    )
    for path, rep in replay.items():
        state.emit("step_succeeded", path, {**rep.meta, "forked_from": options.fork_from})
    budget = Budget(_root_limits(pipeline, options))
    return await _drive(state, pipeline, plan, resolved, budget)


async def resume_run(
    run_id: str,
    *,
    services: Services,
    pipeline: Pipeline | None = None,
    options: RunOptions | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> RunResult:
    """Continue a run from its journal: completed steps are not re-run (their outputs come
    from the journal); in-flight, failed and waiting steps run again with the same
    idempotency key. ``pipeline``, if given, must hash like the journaled spec. ``inputs``
    gives the run's secret inputs again (they were not stored; see
    :mod:`evopipe.engine.secrets`); resume is refused without them."""
    store: JournalStore | None = services.store
    if store is None:
        raise JournalError("resume needs a store (the run's journal)")
    info = store.get_run(run_id)
    if info.status == "succeeded":
        raise ResumeRefused(f"run {run_id!r} already succeeded; nothing to resume")
    if pipeline is not None and services.plans.spec_hash(pipeline) != info.spec_hash:
        raise ResumeRefused(
            f"the pipeline changed since run {run_id!r} was started (spec hash "
            f"{info.spec_hash[:12]} → {spec_hash(pipeline)[:12]}); resuming would mix two "
            f"versions. Start a new run that reuses unchanged steps instead: "
            f"`evopipe run PATH --fork-from {run_id}`"
        )
    pipeline = pipeline or stored_pipeline(info)
    try:
        resumed_inputs = inputs_for_resume(pipeline, info.inputs, inputs or {}, run_id)
    except ValueError as exc:
        raise ResumeRefused(str(exc)) from None
    plan = services.plans.pipeline(pipeline, check_options(services, services.base_dir))
    events = store.load_events(run_id)
    loaded = load_replay(events, run_id)
    options = options or RunOptions()
    options = RunOptions(**{**options.__dict__, "run_id": run_id})
    state = _state(run_id, services, options, seq=loaded.last_seq)
    state.masker = Masker.for_inputs(pipeline, resumed_inputs)
    state.replay = _unmasked(loaded.replay, state.masker)
    state.subrun_keys = loaded.subruns
    state.approvals = loaded.approvals
    store.clear_cancel(run_id)
    state.emit("run_resumed", None, {"completed": sorted(loaded.replay)})
    budget = Budget(_root_limits(pipeline, options))
    for rep in loaded.spent:
        rec = rep.record
        budget.steps += 1
        budget.input_tokens += rec.input_tokens
        budget.output_tokens += rec.output_tokens
        if rec.cost_usd is None:
            budget.unpriced += 1
        else:
            budget.cost_usd += rec.cost_usd
        budget.calls += int(rep.meta.get("calls", 0))
    return await _drive(state, pipeline, plan, resumed_inputs, budget)


async def _drive(
    state: RunState,
    pipeline: Pipeline,
    plan: Plan,
    inputs: dict[str, Any],
    budget: Budget,
) -> RunResult:
    services, options = state.services, state.options
    state.max_depth = pipeline.limits.max_depth
    concurrency = _tighter(pipeline.limits.max_concurrency, options.max_concurrency)
    scope = Scope(
        state,
        pipeline,
        plan,
        prefix="",
        namespace={"inputs": inputs, "run": {"id": state.run_id}},
        budget=budget,
        depth=0,
        base_dir=services.base_dir,
        policy=services.policy,
        max_concurrency=int(concurrency) if concurrency else None,
    )
    store = services.store
    if store is not None and state.seq > 1:  # a resumed run (a new one starts as running)
        store.set_run_status(state.run_id, "running")
    status, error, budget_name, waiting = await _execute(state, scope)
    status, error, outputs = final_outputs(scope, status, error, "outputs")
    result = RunResult(
        run_id=state.run_id,
        status=status,
        outputs=outputs,
        usage=budget.usage(),
        steps=scope_records(scope, status),
        error=error,
        budget=budget_name,
        spec_hash=services.plans.spec_hash(pipeline),
        waiting_on=tuple(waiting),
    )
    _finish(state, result)
    return result


async def _execute(
    state: RunState, scope: Scope
) -> tuple[RunStatus, str | None, str | None, list[str]]:
    inner = asyncio.ensure_future(run_scope(scope))
    poller = None
    if state.services.store is not None:
        poller = asyncio.ensure_future(_poll_cancel(state, inner))
    try:
        status, error, waiting = await inner
        return status, error, None, waiting
    except BudgetExceeded as exc:
        return "budget_exceeded", str(exc), exc.budget, []
    except EvopipeError as exc:  # e.g. the journal could not be written
        return "failed", str(exc), None, []
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if state.killed and task is not None and not task.cancelling():
            return "cancelled", "cancelled by request (evopipe cancel)", None, []
        _finish_cancelled(state)
        raise
    finally:
        if poller is not None:
            poller.cancel()


async def _poll_cancel(state: RunState, inner: asyncio.Future[Any]) -> None:
    store = state.services.store
    interval = state.options.cancel_poll_s
    while not inner.done():
        await asyncio.sleep(interval)
        if store.cancel_requested(state.run_id):
            state.killed = True
            inner.cancel()
            return


def _finish(state: RunState, result: RunResult) -> None:
    state.emit(
        "run_finished",
        None,
        {
            "status": result.status,
            "outputs": result.outputs,
            "usage": result.usage.to_json(),
            "error": result.error,
            "budget": result.budget,
            "waiting_on": list(result.waiting_on),
        },
    )
    if state.journal is not None:
        state.journal.flush()
        state.journal.raise_if_failed()
    store = state.services.store
    if store is not None:
        mask = state.masker.value if state.masker is not None else _same
        store.set_run_status(
            state.run_id,
            result.status,
            error=mask(result.error),
            outputs=mask(result.outputs),
            usage=result.usage.to_json(),
        )


def _unmasked(replay: dict[str, Replayed], masker: Masker | None) -> dict[str, Replayed]:
    """Replayed steps with the secrets given again in place of their masks."""
    if masker is None:
        return replay
    return {
        path: Replayed(replace(rep.record, output=masker.unmask(rep.record.output)), rep.meta)
        for path, rep in replay.items()
    }


def _same(value: Any) -> Any:
    return value


def _finish_cancelled(state: RunState) -> None:
    state.emit("run_finished", None, {"status": "cancelled", "error": "task cancelled"})
    if state.journal is not None:
        state.journal.flush()
    if state.services.store is not None:
        state.services.store.set_run_status(state.run_id, "cancelled", error="task cancelled")


def run_pipeline_sync(
    pipeline: Pipeline,
    inputs: Mapping[str, Any],
    *,
    services: Services,
    options: RunOptions | None = None,
) -> RunResult:
    """Synchronous wrapper of :func:`run_pipeline` (not from inside a running event loop)."""
    return asyncio.run(run_pipeline(pipeline, inputs, services=services, options=options))
