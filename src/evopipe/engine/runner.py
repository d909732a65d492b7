"""Entry points of the engine: run a pipeline (async and sync)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from evopipe.engine.types import RunOptions, RunResult, Services
from evopipe.spec.pipeline import Pipeline


async def run_pipeline(
    pipeline: Pipeline,
    inputs: Mapping[str, Any],
    *,
    services: Services,
    options: RunOptions | None = None,
) -> RunResult:
    """Run ``pipeline`` with ``inputs``; journaled when ``services.store`` is set."""
    raise NotImplementedError("the engine scheduler is being written")


def run_pipeline_sync(
    pipeline: Pipeline,
    inputs: Mapping[str, Any],
    *,
    services: Services,
    options: RunOptions | None = None,
) -> RunResult:
    """Synchronous wrapper of :func:`run_pipeline` (not from inside a running event loop)."""
    return asyncio.run(run_pipeline(pipeline, inputs, services=services, options=options))
