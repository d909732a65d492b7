"""``regex``: the prediction matches a pattern (the ``pattern`` option, else the expected value).

``mode=search`` (default) finds the pattern anywhere; ``mode=full`` requires a full match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from evopipe.evaluate.metrics.base import (
    Case,
    Metric,
    MetricEnv,
    MetricError,
    MetricOptions,
    Score,
    as_text,
    parse_options,
)

NAME = "regex"


class RegexOptions(MetricOptions):
    pattern: str | None = None
    mode: Literal["search", "full"] = "search"
    ignore_case: bool = False


def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise MetricError(f"metric 'regex': bad pattern {pattern!r}: {exc}") from None


@dataclass(frozen=True)
class Regex:
    opts: RegexOptions
    compiled: re.Pattern[str] | None
    name: str = NAME

    async def score(self, case: Case) -> Score:
        pattern = self.compiled or _compile(as_text(case.expected), self.opts.ignore_case)
        text = as_text(case.prediction)
        found = pattern.fullmatch(text) if self.opts.mode == "full" else pattern.search(text)
        if found:
            return Score(1.0)
        return Score(0.0, f"{text[:200]!r} does not match /{pattern.pattern}/")


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    opts = parse_options(RegexOptions, NAME, options)
    compiled = _compile(opts.pattern, opts.ignore_case) if opts.pattern is not None else None
    return Regex(opts, compiled)
