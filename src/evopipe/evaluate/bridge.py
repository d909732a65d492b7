"""The one place evaluation calls the engine: run a pipeline, summarise the outcome.

Keeps the rest of the package independent of the exact shape of ``RunResult``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from evopipe.engine import run_pipeline
from evopipe.spec import EvopipeError, Pipeline


@dataclass(frozen=True, slots=True)
class Outcome:
    """What evaluation needs from one pipeline run."""

    ok: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    status: str = "failed"
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cached_steps: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


async def run_one(
    pipeline: Pipeline, inputs: dict[str, Any], services: Any, options: Any = None
) -> Outcome:
    """Run ``pipeline`` once; our own errors become a failed :class:`Outcome`, bugs propagate."""
    start = time.perf_counter()
    try:
        result = await run_pipeline(pipeline, inputs, services=services, options=options)
    except EvopipeError as exc:
        elapsed = (time.perf_counter() - start) * 1000
        return Outcome(False, error=f"{type(exc).__name__}: {exc}", latency_ms=elapsed)
    elapsed = (time.perf_counter() - start) * 1000
    usage = result.usage
    return Outcome(
        ok=result.status == "succeeded",
        outputs=dict(result.outputs or {}),
        run_id=result.run_id,
        status=result.status,
        error=result.error,
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        calls=int(getattr(usage, "calls", 0) or 0),
        cost_usd=float(getattr(usage, "cost_usd", 0.0) or 0.0),
        latency_ms=elapsed,
        cached_steps=sum(1 for s in result.steps if getattr(s, "cached", False)),
    )
