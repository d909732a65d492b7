"""Decisions from evaluations: the minibatch gate, paired comparison, cost projection."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evopipe.evaluate.dataset import Dataset, Example
from evopipe.evaluate.metrics.base import Metric
from evopipe.evaluate.report import EvalReport
from evopipe.evaluate.runner import Budget, EvalSettings, evaluate, select
from evopipe.evaluate.stats import PairedResult, StatsError, mean, paired_bootstrap
from evopipe.spec import Pipeline


@dataclass(frozen=True, slots=True)
class GateResult:
    """Did the candidate do better than the baseline on the same minibatch?"""

    passed: bool
    candidate_mean: float
    baseline_mean: float
    n: int
    report: EvalReport

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "candidate_mean": self.candidate_mean,
            "baseline_mean": self.baseline_mean,
            "n": self.n,
        }


async def gate(
    pipeline: Pipeline,
    baseline_scores: Mapping[str, float],
    minibatch: Sequence[Example],
    metrics: Sequence[Metric],
    *,
    services: Any,
    min_improvement: float = 0.0,
    strict: bool = True,
    semaphore: asyncio.Semaphore | None = None,
    concurrency: int = 8,
    settings: EvalSettings | None = None,
) -> GateResult:
    """Cheap check before a full evaluation: run the candidate on ``minibatch`` and pass it
    only if its mean beats the baseline's mean on those same examples (by more than
    ``min_improvement``; ties fail when ``strict``)."""
    missing = [e.id for e in minibatch if e.id not in baseline_scores]
    if missing:
        raise StatsError(f"baseline has no score for minibatch example(s) {missing[:5]}")
    report = await evaluate(
        pipeline,
        list(minibatch),
        metrics,
        services=services,
        concurrency=concurrency,
        semaphore=semaphore,
        settings=settings,
    )
    got = report.scores()
    ids = [e.id for e in minibatch if e.id in got]
    cand = mean([got[i] for i in ids])
    base = mean([float(baseline_scores[i]) for i in ids])
    margin = cand - base - min_improvement
    passed = margin > 0 if strict else margin >= 0
    return GateResult(passed, cand, base, len(ids), report)


@dataclass(frozen=True, slots=True)
class Comparison:
    """``b`` against ``a`` on the same examples."""

    a: EvalReport
    b: EvalReport
    paired: PairedResult

    def to_json(self) -> dict[str, Any]:
        return {
            "a": {"pipeline": self.a.pipeline, "objectives": self.a.objectives.to_json()},
            "b": {"pipeline": self.b.pipeline, "objectives": self.b.objectives.to_json()},
            "dataset": self.a.dataset,
            "split": self.a.split,
            "paired": self.paired.to_json(),
        }


def paired_scores(a: EvalReport, b: EvalReport) -> tuple[list[float], list[float]]:
    """Scores of the examples both reports scored, aligned by example id (a's order)."""
    sb = b.scores()
    pairs = [(r.score, sb[r.example_id]) for r in a.examples if r.example_id in sb]
    return [x for x, _ in pairs], [y for _, y in pairs]


async def compare(
    a: Pipeline,
    b: Pipeline,
    dataset: Dataset | Sequence[Example],
    metrics: Sequence[Metric],
    *,
    services: Any,
    split: str = "val",
    limit: int | None = None,
    concurrency: int = 8,
    semaphore: asyncio.Semaphore | None = None,
    budget: Budget | None = None,
    settings: EvalSettings | None = None,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Evaluate both pipelines on the same examples (sharing one concurrency bound) and compare
    them with a paired bootstrap: difference ``b - a``, its CI, and a p-value."""
    sem = semaphore or asyncio.Semaphore(max(1, concurrency))
    kwargs: dict[str, Any] = {
        "services": services,
        "split": split,
        "limit": limit,
        "semaphore": sem,
        "budget": budget,
        "settings": settings,
    }
    ra, rb = await asyncio.gather(
        evaluate(a, dataset, metrics, **kwargs), evaluate(b, dataset, metrics, **kwargs)
    )
    xs, ys = paired_scores(ra, rb)
    return Comparison(ra, rb, paired_bootstrap(xs, ys, resamples=resamples, seed=seed))


@dataclass(frozen=True, slots=True)
class Projection:
    """Estimated cost of evaluating ``n`` examples, from running ``sampled`` of them."""

    n: int
    sampled: int
    calls: float
    tokens: float
    cost_usd: float
    latency_s: float
    report: EvalReport | None = None
    """The evaluation of the sampled examples (what the projection itself spent)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "sampled": self.sampled,
            "calls": self.calls,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "latency_s": self.latency_s,
        }


async def project_cost(
    pipeline: Pipeline,
    dataset: Dataset | Sequence[Example],
    metrics: Sequence[Metric],
    *,
    services: Any,
    split: str = "val",
    limit: int | None = None,
    sample: int = 3,
    concurrency: int = 8,
    settings: EvalSettings | None = None,
) -> Projection:
    """Run the first ``sample`` examples and extrapolate calls, tokens and USD to the split.

    The sampled runs land in the response cache, so the evaluation that follows does not pay
    for them again; the projection is therefore an upper estimate.
    """
    examples = select(dataset, split, limit)
    probe = examples[: max(1, sample)] if examples else []
    report = await evaluate(
        pipeline, probe, metrics, services=services, concurrency=concurrency, settings=settings
    )
    k = max(1, report.n)
    calls = sum(r.calls + r.cached_calls + r.judge_calls for r in report.examples) / k
    usd = (report.objectives.total_cost_usd + report.judge_cost_usd) / k
    n = len(examples)
    # Wall time: examples run `concurrency` at a time.
    waves = math.ceil(n / max(1, concurrency))
    return Projection(
        n=n,
        sampled=report.n,
        calls=calls * n,
        tokens=report.objectives.tokens * n,
        cost_usd=usd * n,
        latency_s=waves * report.objectives.latency_p50_ms / 1000,
        report=report,
    )
