"""Model calls made by steps: budgets, the response cache, usage accounting, events."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from evopipe.models.base import ModelRequest, ModelResponse
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
    model = scope.state.services.models.get(mid, cache_policy=cache_policy(scope, config, cache))
    t0 = time.perf_counter()
    response = await model.complete(request)
    latency_ms = (time.perf_counter() - t0) * 1000
    cost = response.cost_usd or 0.0
    usage = ctx.usage
    usage.input_tokens += response.usage.input_tokens
    usage.output_tokens += response.usage.output_tokens
    usage.cost_usd += cost
    usage.calls += 1
    usage.cached = usage.cached or response.cached
    scope.state.emit(
        "model_call",
        ctx.step_id,
        {
            "model": mid,
            "attempt": ctx.attempt,
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
            "cost_usd": cost,
            "cached": response.cached,
            "latency_ms": round(latency_ms, 3),
        },
    )
    budget.add_usage(response.usage.input_tokens, response.usage.output_tokens, cost, 1)
    cap = scope.policy.max_output_bytes
    if len(response.text) > cap:  # characters: a lower bound of the UTF-8 size
        raise StepFailed(
            ctx.step_id,
            f"model {mid} answered {len(response.text)} characters, over the policy's "
            f"max_output_bytes={cap}",
        )
    return response
