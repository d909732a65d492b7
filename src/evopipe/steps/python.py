"""``python``: call an allowlisted Python function ``package.module:function``.

Refused unless the run's policy is trusting *and* lists the exact dotted name in
``python_allow`` (generated and evolved pipelines never get here). ``args`` are templates,
rendered and passed as keyword arguments. A coroutine function is awaited; a plain function runs
in a worker thread so it does not stall the scheduler. The result must be JSON-serialisable
(it goes to the journal) and no larger than the policy's ``max_output_bytes``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
from collections.abc import Callable
from typing import Any

from evopipe.spec.errors import EvopipeError
from evopipe.spec.kinds import PythonStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "python"
config_model = PythonStep


def resolve_function(step_id: str, dotted: str) -> Callable[..., Any]:
    """Import ``pkg.mod:func`` and return the callable (StepFailed if it is not one)."""
    module_name, _, attr = dotted.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StepFailed(step_id, f"cannot import module {module_name!r}: {exc}") from None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise StepFailed(step_id, f"{dotted!r} is not a callable in {module_name!r}")
    return fn  # type: ignore[no-any-return]


def to_json_value(step_id: str, value: Any, max_bytes: int) -> Any:
    """Round-trip ``value`` through JSON (tuples become lists); refuse what JSON cannot hold."""
    if isinstance(value, (str, bytes, list, dict)) and len(value) > max_bytes:
        raise StepFailed(
            step_id,
            f"the result has {len(value)} elements, over the policy's max_output_bytes={max_bytes}",
        )
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StepFailed(step_id, f"the result is not JSON-serialisable: {exc}") from None
    if len(text) > max_bytes:
        raise StepFailed(
            step_id,
            f"the result is {len(text)} bytes of JSON, over the policy's "
            f"max_output_bytes={max_bytes}",
        )
    return json.loads(text)


async def run(ctx: StepContext, config: PythonStep) -> StepResult:
    ctx.policy.check_python(ctx.step_id, config.function)
    fn = resolve_function(ctx.step_id, config.function)
    kwargs = ctx.render(config.args, where="args")
    if not isinstance(kwargs, dict):
        raise StepFailed(ctx.step_id, "python args must render to a mapping")
    try:
        if inspect.iscoroutinefunction(fn):
            result = await fn(**kwargs)
        else:
            result = await asyncio.to_thread(fn, **kwargs)
            if inspect.isawaitable(result):
                result = await result
    except (EvopipeError, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise StepFailed(
            ctx.step_id, f"{config.function} raised {type(exc).__name__}: {exc}"
        ) from exc
    return StepResult(output=to_json_value(ctx.step_id, result, ctx.policy.max_output_bytes))
