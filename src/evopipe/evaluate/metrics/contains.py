"""``contains``: the normalised expected value occurs in the normalised prediction."""

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

NAME = "contains"


@dataclass(frozen=True)
class Contains:
    opts: TextOptions
    name: str = NAME

    async def score(self, case: Case) -> Score:
        got, want = normalise(case.prediction, self.opts), normalise(case.expected, self.opts)
        if want in got:
            return Score(1.0)
        return Score(0.0, f"{want!r} does not occur in {got[:200]!r}")


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    return Contains(parse_options(TextOptions, NAME, options))
