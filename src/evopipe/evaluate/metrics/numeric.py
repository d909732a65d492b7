"""``numeric``: the last number in the prediction equals the expected number within tolerance.

A match when ``|got - want| <= max(abs_tol, rel_tol * |want|)``. Thousands separators
(``1,234``) are understood.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from evopipe.evaluate.metrics.base import (
    Case,
    Metric,
    MetricEnv,
    MetricOptions,
    Score,
    as_text,
    parse_options,
)

NAME = "numeric"
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")


class NumericOptions(MetricOptions):
    abs_tol: float = 1e-9
    rel_tol: float = 0.0
    pick: Literal["last", "first"] = "last"


def extract_number(value: Any, pick: str = "last") -> float | None:
    """The last (or first) number written in ``value``; ``None`` when there is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    found = [m.group(0) for m in _NUMBER.finditer(as_text(value)) if re.search(r"\d", m.group(0))]
    if not found:
        return None
    token = (found[-1] if pick == "last" else found[0]).replace(",", "")
    try:
        return float(token)
    except ValueError:
        return None


@dataclass(frozen=True)
class Numeric:
    opts: NumericOptions
    name: str = NAME

    async def score(self, case: Case) -> Score:
        want = extract_number(case.expected, "last")
        if want is None:
            return Score(0.0, f"expected value {as_text(case.expected)!r} has no number")
        got = extract_number(case.prediction, self.opts.pick)
        if got is None:
            return Score(0.0, f"no number in the answer {as_text(case.prediction)[:200]!r}")
        tol = max(self.opts.abs_tol, self.opts.rel_tol * abs(want))
        if math.isfinite(got) and abs(got - want) <= tol:
            return Score(1.0)
        return Score(0.0, f"expected {want:g}, got {got:g}")


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    return Numeric(parse_options(NumericOptions, NAME, options))
