"""``exact``: the normalised prediction equals the normalised expected value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evopipe.evaluate.metrics.base import (
    Case,
    Metric,
    MetricEnv,
    Score,
    TextOptions,
    normalise,
    parse_options,
)

NAME = "exact"


@dataclass(frozen=True)
class Exact:
    opts: TextOptions
    name: str = NAME

    async def score(self, case: Case) -> Score:
        got, want = normalise(case.prediction, self.opts), normalise(case.expected, self.opts)
        if got == want:
            return Score(1.0)
        return Score(0.0, f"expected {want!r}, got {got[:200]!r}")


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    return Exact(parse_options(TextOptions, NAME, options))
