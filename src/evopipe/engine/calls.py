"""Model calls made by steps: budgets, the response cache, usage accounting, events."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from evopipe.engine.budget import add_cost
from evopipe.models.base import ModelError, ModelRequest, ModelResponse, Usage
from evopipe.spec.base import StepBase
from evopipe.steps.base import StepFailed

if TYPE_CHECKING:
    from evopipe.engine.context import EngineContext
    from evopipe.engine.state import Scope


def cache_policy(scope: Scope, config: StepBase, cache: bool | None) -> Any:
    """``off`` when the run or the step disables the cache; ``always`` when the step asks for
    it; otherwise the hub's own policy (``auto``: temperature-0 calls are cached)."""
    if not scope.state.options.cache or cache is False or config.cache is False:
        return "off"
    if cache is True or config.cache is True:
        return "always"
    return None


async def call_model(
    ctx: EngineContext,
    scope: Scope,
    config: StepBase,
    request: ModelRequest,
    model_id: str | None,
    cache: bool | None,
) -> ModelResponse:
    mid = model_id or ctx.model_id
    budget = scope.budget
    budget.check()
    models = scope.state.services.models
    price_known = getattr(models, "price_known", None)  # a hub knows; other sources may not
    if price_known is not None and not price_known(mid):
        budget.refuse_unpriced(mid)  # a USD limit could not be enforced: refuse, send nothing
    model = scope.state.services.models.get(mid, cache_policy=cache_policy(scope, config, cache))
    t0 = time.perf_counter()
    try:
        response = await model.complete(request)
    except ModelError as exc:
        if exc.spent is not None:  # requests were sent: they are usage even though they failed
            spent = exc.spent
            _account(ctx, scope, mid, spent.usage, spent.cost_usd, spent.requests, t0, error=exc)
        raise
    _account(
        ctx, scope, mid, response.usage, response.cost_usd, response.requests, t0, response.cached
    )
    cap = scope.policy.max_output_bytes
    if len(response.text) > cap:  # characters: a lower bound of the UTF-8 size
        raise StepFailed(
            ctx.step_id,
            f"model {mid} answered {len(response.text)} characters, over the policy's "
            f"max_output_bytes={cap}",
        )
    return response


def _account(
    ctx: EngineContext,
    scope: Scope,
    mid: str,
    used: Usage,
    cost: float | None,
    requests: int,
    t0: float,
    cached: bool = False,
    error: ModelError | None = None,
) -> None:
    """Count one call (``requests`` provider requests) in the step, the event log and the
    run-tree budget; raises :class:`BudgetExceeded` when a limit is now passed."""
    calls = max(requests, 1) if not cached else 1
    usage = ctx.usage
    usage.input_tokens += used.input_tokens
    usage.output_tokens += used.output_tokens
    usage.cost_usd = add_cost(usage.cost_usd, cost)
    usage.calls += calls
    usage.cached = usage.cached or cached
    data: dict[str, Any] = {
        "model": mid,
        "attempt": ctx.attempt,
        "input_tokens": used.input_tokens,
        "output_tokens": used.output_tokens,
        "cost_usd": cost,
        "cached": cached,
        "latency_ms": round((time.perf_counter() - t0) * 1000, 3),
    }
    if calls > 1:
        data["requests"] = calls
    if error is not None:
        data["error"] = f"{type(error).__name__}: {error}"
    scope.state.emit("model_call", ctx.step_id, data)
    scope.budget.add_usage(used.input_tokens, used.output_tokens, cost, calls, mid)
