"""Running one step: skip rules, replay, attempts with retries and fallbacks, events."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from evopipe.engine.budget import BudgetExceeded, add_cost
from evopipe.engine.context import EngineContext, StepUsage
from evopipe.engine.plan import PlannedStep
from evopipe.engine.types import StepRecord
from evopipe.models.base import ModelTimeoutError, RetryableModelError
from evopipe.spec.base import Retry, StepBase
from evopipe.spec.errors import EvopipeError
from evopipe.steps.base import StepResult

if TYPE_CHECKING:
    from evopipe.engine.state import Scope


async def run_step(scope: Scope, ps: PlannedStep) -> StepRecord:
    """Run (or replay, or skip) one step and record it in the scope. Raises only for
    run-level conditions (budget exceeded, cancellation)."""
    state = scope.state
    path = scope.prefix + ps.id if scope.prefix else ps.id
    replayed = state.replay.get(path) if state.replay else None
    if replayed is not None:
        record = replayed.record
        if record.id != ps.id:  # an inner step: journaled under its path
            record = replace(record, id=ps.id)
        scope.record(record)
        return record
    try:
        reason = skip_reason(scope, ps)
    except EvopipeError as exc:
        return _failed(scope, ps, path, exc, StepUsage(), time.perf_counter())
    if reason is not None:
        record = StepRecord(ps.id, "skipped")
        scope.record(record)
        state.emit("step_skipped", path, {"reason": reason})
        return record
    if ps.needs_trust and not scope.policy.trusted:  # declared by the kind (kind_info)
        try:
            scope.policy.require_trusted(path, ps.config.kind)
        except EvopipeError as exc:
            return _failed(scope, ps, path, exc, StepUsage(), time.perf_counter())
    scope.budget.charge_step()
    config = ps.config
    model_id = resolve_model(scope, config) if ps.uses_model else None
    if not ps.instant:  # an instant kind never waits: its end event is its only record
        data: dict[str, Any] = {
            "attempt": 1,
            "kind": config.kind,
            "idempotency_key": f"{state.run_id}:{path}",
        }
        if model_id is not None:
            data["model"] = model_id
        state.emit("step_started", path, data)
    t0 = time.perf_counter()
    usage = StepUsage()
    try:
        if ps.instant and ps.timeout_s is None:  # fast path: nothing to retry or time out
            ctx = EngineContext(scope, config, path, 1, model_id, usage)
            result = await state.executor.run_step(kind=ps.kind, ctx=ctx, config=config)
            attempts = (1, model_id)
        else:
            result, attempts = await _attempts(scope, ps, path, model_id, usage)
    except (BudgetExceeded, asyncio.CancelledError):
        raise
    except Exception as exc:
        return _failed(scope, ps, path, exc, usage, t0)
    return _finished(scope, ps, path, result, attempts, usage, t0)


def _finished(
    scope: Scope,
    ps: PlannedStep,
    path: str,
    result: StepResult,
    attempts: tuple[int, str | None],
    usage: StepUsage,
    t0: float,
) -> StepRecord:
    duration_ms = (time.perf_counter() - t0) * 1000
    n_attempts = attempts[0]
    cost = add_cost(usage.cost_usd, result.cost_usd)
    tin = usage.input_tokens + result.usage.input_tokens
    tout = usage.output_tokens + result.usage.output_tokens
    if result.usage.input_tokens or result.usage.output_tokens or result.cost_usd:
        scope.budget.add_usage(
            result.usage.input_tokens, result.usage.output_tokens, result.cost_usd, 0
        )
    cached = result.cached or usage.cached
    status = result.status
    record = StepRecord(
        ps.id, status, n_attempts, duration_ms, cached, result.output, None, tin, tout, cost
    )
    scope.record(record)
    if status == "waiting":
        scope.state.emit(
            "step_waiting", path, {"duration_ms": duration_ms, "meta": dict(result.meta)}
        )
    elif status == "skipped":
        scope.state.emit(
            "step_skipped",
            path,
            {"reason": "kind", "meta": dict(result.meta), "output": result.output},
        )
    else:
        data: dict[str, Any] = {
            "output": result.output,
            "attempts": n_attempts,
            "duration_ms": round(duration_ms, 3),
        }
        if attempts[1] is not None:
            data["model"] = attempts[1]
        if usage.calls:
            data.update(input_tokens=tin, output_tokens=tout, cost_usd=cost, calls=usage.calls)
        elif tin or tout or cost != 0.0:
            data.update(input_tokens=tin, output_tokens=tout, cost_usd=cost)
        if cached:
            data["cached"] = True
        if result.meta:
            data["meta"] = dict(result.meta)
        scope.state.emit("step_succeeded", path, data)
    return record


def _failed(
    scope: Scope, ps: PlannedStep, path: str, exc: BaseException, usage: StepUsage, t0: float
) -> StepRecord:
    duration_ms = (time.perf_counter() - t0) * 1000
    message = str(exc) if isinstance(exc, EvopipeError) else f"{type(exc).__name__}: {exc}"
    if f"{ps.id!r}" not in message:
        message = f"step {ps.id!r}: {message}"
    attempts = getattr(exc, "attempts", 1)
    record = StepRecord(
        ps.id,
        "failed",
        attempts,
        duration_ms,
        False,
        None,
        message,
        usage.input_tokens,
        usage.output_tokens,
        usage.cost_usd,
    )
    scope.record(record)
    scope.state.emit(
        "step_failed",
        path,
        {
            "error": message,
            "attempts": attempts,
            "duration_ms": duration_ms,
            "error_type": getattr(exc, "error_type", None) or type(exc).__name__,
        },
    )
    return record


def skip_reason(scope: Scope, ps: PlannedStep) -> str | None:
    """Why this step is skipped, or None if it runs (see the scheduler's skip rule)."""
    records = scope.records
    for sw in ps.gates:
        rec = records[sw]
        chosen = rec.output.get("activated", ()) if isinstance(rec.output, dict) else ()
        if rec.status != "succeeded" or ps.id not in chosen:
            return f"not chosen by switch {sw!r}"
    if ps.when is not None:
        try:
            ok = ps.when.test(scope.namespace)
        except EvopipeError as exc:
            raise _ConditionFailed(f"step {ps.id!r}: when {ps.config.when!r}: {exc}") from None
        return None if ok else f"when {ps.config.when!r} is false"
    if ps.deps and all(records[d].status == "skipped" for d in ps.deps if d in records):
        return "every dependency was skipped"
    return None


class _ConditionFailed(EvopipeError):
    pass


def resolve_model(scope: Scope, config: StepBase) -> str:
    """Step pin, else persona pin, else ``--model``, else ``defaults.model``, else the hub's."""
    pinned = getattr(config, "model", None)
    if pinned:
        return str(pinned)
    persona_name = getattr(config, "persona", None)
    if persona_name:
        persona = scope.pipeline.personas.get(persona_name)
        if persona is not None and persona.model:
            return persona.model
    override = scope.state.options.model
    if override:
        return override
    return scope.pipeline.defaults.model or scope.state.services.models.default_model_id


def _timeout(scope: Scope, ps: PlannedStep) -> float | None:
    if ps.timeout_s is not None:
        return ps.timeout_s
    return scope.pipeline.defaults.timeout_s if ps.uses_model else None


def backoff_delay(
    retry: Retry, failures: int, err: RetryableModelError, rng: random.Random | None = None
) -> float:
    """Exponential backoff with full jitter, honouring a server's ``retry_after``."""
    cap = min(retry.max_backoff_s, retry.backoff_s * (2 ** (failures - 1)))
    delay = (rng or random).uniform(0, cap) if retry.jitter else cap
    if err.retry_after_s is not None:
        delay = max(delay, min(err.retry_after_s, retry.max_backoff_s))
    return delay


class StepAttemptsFailed(EvopipeError):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


async def _attempts(
    scope: Scope, ps: PlannedStep, path: str, model_id: str | None, usage: StepUsage
) -> tuple[StepResult, tuple[int, str | None]]:
    config = ps.config
    retry = ps.retry
    timeout = _timeout(scope, ps)
    models: list[str | None] = [model_id, *retry.fallback_models]
    attempt = 0
    last: RetryableModelError | None = None
    for mi, mid in enumerate(models):
        for n in range(retry.max_attempts):
            attempt += 1
            if attempt > 1:
                scope.state.emit(
                    "step_attempt_started",
                    path,
                    {"attempt": attempt, "model": mid, "reason": str(last) if last else None},
                )
            ctx = EngineContext(scope, config, path, attempt, mid, usage)
            try:
                result = await _one_attempt(scope, ps, ctx, timeout)
                return result, (attempt, mid)
            except RetryableModelError as exc:
                last = exc
            if n + 1 < retry.max_attempts:
                delay = backoff_delay(retry, n + 1, last)
                scope.state.emit("step_retry", path, _retry_data(attempt, last, delay))
                if delay > 0:
                    await asyncio.sleep(delay)
            elif mi + 1 < len(models):
                data = _retry_data(attempt, last, 0.0, fallback_model=models[mi + 1])
                scope.state.emit("step_retry", path, data)
    tried = ", ".join(m or "(no model)" for m in models)
    raise StepAttemptsFailed(
        f"step {ps.id!r} failed after {attempt} attempt(s) on {tried}: "
        f"{type(last).__name__}: {last}",
        attempt,
    )


def _retry_data(
    attempt: int, error: BaseException | None, delay_s: float, **extra: Any
) -> dict[str, Any]:
    """The data of a ``step_retry`` event: the attempt that failed, why, and the wait."""
    return {
        "attempt": attempt,
        "error": str(error),
        "error_type": type(error).__name__,
        "delay_s": delay_s,
        **extra,
    }


async def _one_attempt(
    scope: Scope, ps: PlannedStep, ctx: EngineContext, limit_s: float | None
) -> StepResult:
    slots = scope.state.slots
    held = slots is not None and not ps.container
    if held:
        assert slots is not None
        await slots.acquire()
    try:
        executor = scope.state.executor
        if limit_s is None:
            return await executor.run_step(kind=ps.kind, ctx=ctx, config=ps.config)
        cm = asyncio.timeout(limit_s)
        try:
            async with cm:
                return await executor.run_step(kind=ps.kind, ctx=ctx, config=ps.config)
        except TimeoutError:
            if cm.expired():
                raise ModelTimeoutError(f"step timed out after {limit_s} s") from None
            raise
    finally:
        if held:
            assert slots is not None
            slots.release()
