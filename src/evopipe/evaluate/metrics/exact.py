"""``exact``: the normalised prediction equals the normalised expected value."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from evopipe.evaluate.metrics.base import Metric, MetricEnv, TextMatch, TextOptions, parse_options

NAME = "exact"


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    opts = parse_options(TextOptions, NAME, options)
    return TextMatch(NAME, opts, operator.eq, "expected {want!r}, got {got!r}")
