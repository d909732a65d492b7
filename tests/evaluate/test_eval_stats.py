"""The statistics behind fitness: bootstrap CI and paired comparison on known cases."""

from __future__ import annotations

import math
import random

import pytest

from evopipe.evaluate.stats import (
    BOOTSTRAP_MAX_N,
    StatsError,
    bootstrap_ci,
    mean,
    paired_bootstrap,
    percentile,
)


def test_percentile_matches_linear_interpolation() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile([], 50) == 0.0
    with pytest.raises(StatsError):
        percentile(values, 101)


def test_bootstrap_ci_agrees_with_normal_approximation_on_a_large_sample() -> None:
    rng = random.Random(42)
    values = [1.0 if rng.random() < 0.3 else 0.0 for _ in range(BOOTSTRAP_MAX_N)]
    ci = bootstrap_ci(values, resamples=2000, seed=1)
    m = mean(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    half = 1.959964 * sd / math.sqrt(len(values))
    assert ci.mean == pytest.approx(m)
    # The percentile bootstrap of a mean converges to mean ± z·se; allow Monte-Carlo slack.
    assert ci.low == pytest.approx(m - half, abs=0.15 * half)
    assert ci.high == pytest.approx(m + half, abs=0.15 * half)


def test_bootstrap_ci_width_shrinks_like_one_over_sqrt_n() -> None:
    rng = random.Random(7)
    small = [rng.random() for _ in range(100)]
    large = [rng.random() for _ in range(1600)]  # above BOOTSTRAP_MAX_N: the normal limit
    w_small = bootstrap_ci(small, seed=0)
    w_large = bootstrap_ci(large, seed=0)
    ratio = (w_small.high - w_small.low) / (w_large.high - w_large.low)
    assert ratio == pytest.approx(4.0, rel=0.25)


def test_bootstrap_ci_is_seeded_and_degenerate_cases_are_points() -> None:
    values = [0.0, 1.0, 1.0, 0.0, 1.0]
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci([0.5, 0.5, 0.5]).low == 0.5
    assert bootstrap_ci([0.25]).high == 0.25
    empty = bootstrap_ci([])
    assert (empty.mean, empty.low, empty.high) == (0.0, 0.0, 0.0)
    with pytest.raises(StatsError):
        bootstrap_ci(values, confidence=1.5)


def test_bootstrap_coverage_is_near_nominal() -> None:
    """Over many samples from a known distribution, the 90% CI covers the true mean ~90%."""
    rng = random.Random(2024)
    covered = 0
    trials = 200
    for t in range(trials):
        sample = [1.0 if rng.random() < 0.6 else 0.0 for _ in range(80)]
        ci = bootstrap_ci(sample, confidence=0.9, resamples=300, seed=t)
        covered += ci.low <= 0.6 <= ci.high
    assert 0.82 <= covered / trials <= 0.96


def test_paired_bootstrap_identical_pipelines_show_no_difference() -> None:
    a = [0.0, 1.0, 1.0, 0.0, 0.5] * 10
    result = paired_bootstrap(a, list(a))
    assert result.diff == 0.0
    assert result.p_value == 1.0
    assert result.low == result.high == 0.0


def test_paired_bootstrap_detects_a_consistent_improvement() -> None:
    rng = random.Random(5)
    a = [rng.random() for _ in range(200)]
    # b is a plus a small, noisy, positive shift: the pairing removes per-example variance.
    b = [min(1.0, x + 0.05 + rng.gauss(0, 0.02)) for x in a]
    result = paired_bootstrap(a, b, seed=0)
    assert result.diff > 0
    assert result.low > 0
    assert result.p_value < 0.01
    assert result.mean_b - result.mean_a == pytest.approx(result.diff)


def test_paired_bootstrap_matches_the_paired_t_interval_for_a_large_sample() -> None:
    rng = random.Random(11)
    a = [rng.random() for _ in range(BOOTSTRAP_MAX_N)]
    b = [x + rng.gauss(0.01, 0.2) for x in a]
    d = [y - x for x, y in zip(a, b, strict=True)]
    md = mean(d)
    sd = math.sqrt(sum((v - md) ** 2 for v in d) / (len(d) - 1))
    half = 1.959964 * sd / math.sqrt(len(d))
    result = paired_bootstrap(a, b, seed=2)
    assert result.low == pytest.approx(md - half, abs=0.15 * half)
    assert result.high == pytest.approx(md + half, abs=0.15 * half)
    # Two-sided p of a z-test for the same data, against the bootstrap p.
    z = abs(md) / (sd / math.sqrt(len(d)))
    p_normal = math.erfc(z / math.sqrt(2))
    assert result.p_value == pytest.approx(p_normal, abs=0.06)


def test_paired_bootstrap_no_effect_gives_a_large_p_value() -> None:
    rng = random.Random(9)
    a = [rng.random() for _ in range(300)]
    b = [x + rng.gauss(0, 0.1) for x in a]
    result = paired_bootstrap(a, b, seed=0)
    assert result.low < 0 < result.high or result.p_value > 0.05


def test_paired_bootstrap_rejects_mismatched_samples() -> None:
    with pytest.raises(StatsError, match="differ in length"):
        paired_bootstrap([1.0], [1.0, 0.0])
    with pytest.raises(StatsError):
        paired_bootstrap([], [])


def test_normal_limit_above_the_resampling_cap_agrees_with_resampling() -> None:
    rng = random.Random(3)
    values = [1.0 if rng.random() < 0.4 else 0.0 for _ in range(BOOTSTRAP_MAX_N)]
    resampled = bootstrap_ci(values, seed=0)
    limit = bootstrap_ci([*values, *values[:1]], seed=0)  # one more value: the normal limit
    assert limit.low == pytest.approx(resampled.low, abs=0.01)
    assert limit.high == pytest.approx(resampled.high, abs=0.01)
    a = [rng.random() for _ in range(BOOTSTRAP_MAX_N + 1)]
    b = [x + 0.02 + rng.gauss(0, 0.2) for x in a]
    big = paired_bootstrap(a, b)
    small = paired_bootstrap(a[:BOOTSTRAP_MAX_N], b[:BOOTSTRAP_MAX_N], seed=1)
    assert big.low == pytest.approx(small.low, abs=0.005)
    assert big.p_value == pytest.approx(small.p_value, abs=0.05)


def test_constant_nonzero_differences_use_the_exact_sign_test() -> None:
    one = paired_bootstrap([0.0], [1.0])
    assert one.diff == 1.0
    assert one.p_value == 1.0  # one example proves nothing
    many = paired_bootstrap([0.0] * 10, [0.5] * 10)
    assert many.p_value == pytest.approx(2 / 1024)
