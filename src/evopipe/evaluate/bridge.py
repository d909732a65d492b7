"""The one place evaluation calls the engine: run a pipeline, summarise the outcome.

Keeps the rest of the package independent of the exact shape of ``RunResult``. Calls and cost
come from the evaluation cache's meter when the services carry one (see
:mod:`evopipe.evaluate.caching`): ``calls`` and ``paid_usd`` are what this run really spent,
``cost_usd`` what it would cost without the cache (the pipeline's intrinsic cost).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from evopipe.engine import run_pipeline
from evopipe.evaluate.caching import METER, Meter
from evopipe.evaluate.report import RunUsage
from evopipe.spec import EvopipeError, Pipeline


@dataclass(frozen=True, slots=True)
class Outcome(RunUsage):
    """What evaluation needs from one pipeline run."""

    ok: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    status: str = "failed"
    error: str | None = None


async def run_one(
    pipeline: Pipeline, inputs: dict[str, Any], services: Any, options: Any = None
) -> Outcome:
    """Run ``pipeline`` once; our own errors become a failed :class:`Outcome`, bugs propagate."""
    meter = Meter()
    token = METER.set(meter)
    start = time.perf_counter()
    try:
        result = await run_pipeline(pipeline, inputs, services=services, options=options)
    except EvopipeError as exc:
        elapsed = (time.perf_counter() - start) * 1000
        return Outcome(
            False,
            error=f"{type(exc).__name__}: {exc}",
            latency_ms=elapsed,
            calls=meter.calls,
            cached_calls=meter.hits,
            cost_usd=meter.paid_usd + meter.saved_usd,
            paid_usd=meter.paid_usd,
            cost_known=not meter.unpriced,
        )
    finally:
        METER.reset(token)
    elapsed = (time.perf_counter() - start) * 1000
    usage = result.usage
    metered = meter.calls + meter.hits > 0
    paid = float(usage.cost_usd or 0.0)
    return Outcome(
        ok=result.status == "succeeded",
        outputs=dict(result.outputs or {}),
        run_id=result.run_id,
        status=result.status,
        error=result.error,
        input_tokens=int(usage.input_tokens or 0),
        output_tokens=int(usage.output_tokens or 0),
        calls=meter.calls if metered else int(usage.calls or 0),
        cached_calls=meter.hits,
        cost_usd=paid + meter.saved_usd,
        paid_usd=paid,
        cost_known=not meter.unpriced and usage.cost_usd is not None,
        latency_ms=elapsed,
        cached_steps=sum(1 for s in result.steps if s.cached),
    )
