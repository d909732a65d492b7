"""Statistics for noise-aware fitness: bootstrap confidence intervals, paired comparison,
percentiles. Pure Python, seeded, no numpy/scipy.

Conventions:
- :func:`bootstrap_ci` is the percentile bootstrap of the mean.
- Above :data:`BOOTSTRAP_MAX_N` values, resampling in pure Python gets slow (seconds) while the
  bootstrap distribution of a mean is normal to within Monte-Carlo error; there both functions
  use its normal limit: mean ± z·sd/√n with sd the plug-in (1/n) standard deviation, which is
  the bootstrap's own variance. Tests check the two regimes agree.
- :func:`paired_bootstrap` resamples example *indices* (so both pipelines' scores on the same
  example travel together) and reports ``mean(b - a)``, its percentile CI and a two-sided
  p-value for "no difference" computed from the bootstrap distribution re-centred on zero.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from evopipe.spec.errors import EvopipeError

DEFAULT_RESAMPLES = 2000
BOOTSTRAP_MAX_N = 1000
"""Sample size above which the normal limit of the bootstrap is used instead of resampling."""


class StatsError(EvopipeError):
    """Bad input to a statistic (e.g. paired samples of different lengths)."""


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a confidence interval."""

    mean: float
    low: float
    high: float
    confidence: float = 0.95

    def to_json(self) -> dict[str, float]:
        return {"mean": self.mean, "ci_low": self.low, "ci_high": self.high}


@dataclass(frozen=True, slots=True)
class PairedResult:
    """``b - a`` on the same examples: mean difference, its CI and a two-sided p-value."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    p_value: float
    confidence: float = 0.95

    def to_json(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "diff": self.diff,
            "ci_low": self.low,
            "ci_high": self.high,
            "p_value": self.p_value,
            "confidence": self.confidence,
        }


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation (numpy's default method)."""
    if not values:
        return 0.0
    if not 0 <= q <= 100:
        raise StatsError(f"percentile must be in [0, 100], got {q}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _check(confidence: float, resamples: int) -> None:
    if not 0 < confidence < 1:
        raise StatsError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise StatsError(f"resamples must be positive, got {resamples}")


def _z(confidence: float) -> float:
    """Two-sided standard-normal quantile, by bisection on erf (no scipy)."""
    target = confidence
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2)) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _normal_limit(values: Sequence[float], confidence: float) -> tuple[float, float, float]:
    """Mean, and the normal-limit interval and standard error of the bootstrap mean."""
    m = mean(values)
    n = len(values)
    se = math.sqrt(math.fsum((v - m) ** 2 for v in values) / n) / math.sqrt(n)
    half = _z(confidence) * se
    return m - half, m + half, se


def _boot_means(values: Sequence[float], resamples: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    n = len(values)
    return sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(resamples))


def bootstrap_ci(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Percentile-bootstrap CI of the mean. Empty input gives zeros; one value a point."""
    _check(confidence, resamples)
    vals = [float(v) for v in values]
    m = mean(vals)
    if len(vals) < 2 or max(vals) == min(vals):
        return Interval(m, m, m, confidence)
    if len(vals) > BOOTSTRAP_MAX_N:
        low, high, _ = _normal_limit(vals, confidence)
        return Interval(m, low, high, confidence)
    means = _boot_means(vals, resamples, seed)
    alpha = (1 - confidence) / 2
    return Interval(
        m, percentile(means, 100 * alpha), percentile(means, 100 * (1 - alpha)), confidence
    )


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> PairedResult:
    """Compare ``b`` against ``a`` on the same examples (``a[i]`` and ``b[i]`` pair up)."""
    _check(confidence, resamples)
    if len(a) != len(b):
        raise StatsError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    if not a:
        raise StatsError("paired comparison needs at least one example scored by both")
    diffs = [float(y) - float(x) for x, y in zip(a, b, strict=True)]
    d = mean(diffs)
    ma, mb = mean([float(x) for x in a]), mean([float(y) for y in b])
    if max(diffs) == min(diffs):
        # Every example moved by the same amount: the bootstrap has no spread, so the p-value
        # is the exact two-sided sign test (n agreeing signs): 1.0 for one example.
        p = 1.0 if d == 0 else min(1.0, 2 * 0.5 ** len(diffs))
        return PairedResult(len(a), ma, mb, d, d, d, p, confidence)
    if len(diffs) > BOOTSTRAP_MAX_N:
        low, high, se = _normal_limit(diffs, confidence)
        p = math.erfc(abs(d) / se / math.sqrt(2)) if se > 0 else (1.0 if d == 0 else 0.0)
        return PairedResult(len(a), ma, mb, d, low, high, min(1.0, p), confidence)
    means = _boot_means(diffs, resamples, seed)
    alpha = (1 - confidence) / 2
    low, high = percentile(means, 100 * alpha), percentile(means, 100 * (1 - alpha))
    # Null distribution: the bootstrap distribution shifted to mean zero.
    extreme = sum(1 for m in means if abs(m - d) >= abs(d) - 1e-12)
    p = min(1.0, (extreme + 1) / (resamples + 1))
    return PairedResult(len(a), ma, mb, d, low, high, p, confidence)
