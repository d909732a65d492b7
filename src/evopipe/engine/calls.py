"""Model calls made by steps: budgets, the response cache, usage accounting, events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evopipe.engine.budget import add_cost
from evopipe.models.base import Model, ModelError, ModelRequest, ModelResponse, Spent, Usage
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


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One model call made away from the run owner (a step on a Ray worker calling its model
    there), sent back for the owner to count: the step's usage, a ``model_call`` event, the
    run-tree budget — what :func:`call_model` does for a call made here."""

    model_id: str
    usage: Usage
    cost_usd: float | None
    requests: int
    latency_ms: float
    cached: bool = False
    error: str | None = None


def may_call(scope: Scope, model_id: str) -> None:
    """Raise unless the run tree's budget lets a call to ``model_id`` go out (a limit already
    passed; a USD limit with no price known for the model)."""
    scope.budget.check()
    price_known = getattr(scope.state.services.models, "price_known", None)
    if price_known is not None and not price_known(model_id):
        scope.budget.refuse_unpriced(model_id)  # a USD limit could not be enforced


async def call_model(
    ctx: EngineContext,
    scope: Scope,
    config: StepBase,
    request: ModelRequest,
    model_id: str | None,
    cache: bool | None,
) -> ModelResponse:
    mid = model_id or ctx.model_id
    may_call(scope, mid)
    policy = cache_policy(scope, config, cache)
    masker = scope.state.masker
    if masker is not None and masker.holds_secret(request.cache_key_data()):
        policy = "off"  # its answer may echo the secret: kept out of the response cache
    model = scope.state.services.models.get(mid, cache_policy=policy)
    response = await timed_call(model, request, mid, lambda record: count(ctx, scope, [record]))
    check_output(ctx.step_id, mid, response, scope.policy.max_output_bytes)
    return response


async def timed_call(
    model: Model, request: ModelRequest, model_id: str, counted: Callable[[CallRecord], None]
) -> ModelResponse:
    """``model.complete(request)``, handing ``counted`` the :class:`CallRecord` of what it
    spent — a failed call too, when requests were sent (they are usage even so)."""
    t0 = time.perf_counter()
    try:
        response: ModelResponse = await model.complete(request)
    except ModelError as exc:
        if exc.spent is not None:
            spent = exc.spent
            error = f"{type(exc).__name__}: {exc}"
            counted(_record(model_id, spent, t0, error=error))
        raise
    counted(_record(model_id, response, t0, cached=response.cached))
    return response


def _record(
    model_id: str,
    spent: ModelResponse | Spent,
    t0: float,
    *,
    cached: bool = False,
    error: str | None = None,
) -> CallRecord:
    latency = round((time.perf_counter() - t0) * 1000, 3)
    return CallRecord(model_id, spent.usage, spent.cost_usd, spent.requests, latency, cached, error)


def check_output(step_id: str, model_id: str, response: ModelResponse, cap: int) -> None:
    """Fail the step when the answer is over the policy's ``max_output_bytes``."""
    if len(response.text) > cap:  # characters: a lower bound of the UTF-8 size
        raise StepFailed(
            step_id,
            f"model {model_id} answered {len(response.text)} characters, over the policy's "
            f"max_output_bytes={cap}",
        )


def count(ctx: EngineContext, scope: Scope, records: Iterable[CallRecord]) -> None:
    """Count calls (each of ``requests`` provider requests) in the step, the event log and the
    run-tree budget; raises :class:`BudgetExceeded` when a limit is now passed."""
    for record in records:
        calls = max(record.requests, 1) if not record.cached else 1
        used, cost = record.usage, record.cost_usd
        usage = ctx.usage
        usage.input_tokens += used.input_tokens
        usage.output_tokens += used.output_tokens
        usage.cost_usd = add_cost(usage.cost_usd, cost)
        usage.calls += calls
        usage.cached = usage.cached or record.cached
        data: dict[str, Any] = {
            "model": record.model_id,
            "attempt": ctx.attempt,
            "input_tokens": used.input_tokens,
            "output_tokens": used.output_tokens,
            "cost_usd": cost,
            "cached": record.cached,
            "latency_ms": record.latency_ms,
        }
        if calls > 1:
            data["requests"] = calls
        if record.error is not None:
            data["error"] = record.error
        scope.state.emit("model_call", ctx.step_id, data)
        scope.budget.add_usage(used.input_tokens, used.output_tokens, cost, calls, record.model_id)
