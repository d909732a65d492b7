"""``f1``: token-level F1 between prediction and expected (SQuAD-style bag of tokens)."""

from __future__ import annotations

from collections import Counter
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

NAME = "f1"


class F1Options(TextOptions):
    ignore_punctuation: bool = True


def token_f1(prediction: str, expected: str) -> float:
    got, want = prediction.split(), expected.split()
    if not got and not want:
        return 1.0
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class F1:
    opts: F1Options
    name: str = NAME

    async def score(self, case: Case) -> Score:
        got, want = normalise(case.prediction, self.opts), normalise(case.expected, self.opts)
        value = token_f1(got, want)
        feedback = None if value == 1.0 else f"token F1 {value:.2f} against {want[:200]!r}"
        return Score(min(1.0, max(0.0, value)), feedback)


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    return F1(parse_options(F1Options, NAME, options))
