"""``contains``: the normalised expected value occurs in the normalised prediction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evopipe.evaluate.metrics.base import Metric, MetricEnv, TextMatch, TextOptions, parse_options

NAME = "contains"


def _contains(got: str, want: str) -> bool:
    return want in got


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    opts = parse_options(TextOptions, NAME, options)
    return TextMatch(NAME, opts, _contains, "{want!r} does not occur in {got!r}")
