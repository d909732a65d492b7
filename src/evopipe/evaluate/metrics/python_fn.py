"""``python``: an allowlisted Python function scores the example.

``python[function=package.module:fn]`` calls ``fn(prediction, expected, inputs)`` (sync or
async). It may return a bool, a number in [0, 1], a ``(score, feedback)`` pair or a
``{"score", "feedback"}`` mapping. The function must be listed in the policy's
``python_allow``; pipeline text never names code to run.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from evopipe.evaluate.metrics.base import (
    Case,
    Metric,
    MetricEnv,
    MetricError,
    MetricOptions,
    Score,
    parse_options,
)

NAME = "python"


class PythonOptions(MetricOptions):
    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _resolve(function: str) -> Callable[..., Any]:
    module_name, _, attr = function.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise MetricError(f"metric 'python': cannot import {function!r}: {exc}") from None
    if not callable(fn):
        raise MetricError(f"metric 'python': {function!r} is not callable")
    return fn  # type: ignore[no-any-return]


def to_score(result: Any, function: str) -> Score:
    """Coerce what a scoring function returned into a :class:`Score`."""
    feedback = None
    if isinstance(result, Mapping):
        result, feedback = result.get("score"), result.get("feedback")
    elif isinstance(result, tuple) and len(result) == 2:
        result, feedback = result
    if not isinstance(result, bool | int | float):
        raise MetricError(f"metric 'python': {function} returned {type(result).__name__}")
    value = float(result)
    if not 0.0 <= value <= 1.0:
        raise MetricError(f"metric 'python': {function} returned {value}, outside [0, 1]")
    return Score(value, None if feedback is None else str(feedback))


@dataclass(frozen=True)
class PythonMetric:
    function: str
    fn: Callable[..., Any]
    name: str = NAME

    async def score(self, case: Case) -> Score:
        result = self.fn(case.prediction, case.expected, dict(case.inputs))
        if inspect.isawaitable(result):
            result = await result
        return to_score(result, self.function)


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    opts = parse_options(PythonOptions, NAME, options)
    if opts.function not in env.python_allow:
        raise MetricError(
            f"metric 'python': {opts.function!r} is not in the allowlist "
            "(add it to policy.python_allow)"
        )
    return PythonMetric(opts.function, _resolve(opts.function))
