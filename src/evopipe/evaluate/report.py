"""What an evaluation produces: per-example results and the objectives computed from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from evopipe.evaluate.stats import Interval, bootstrap_ci, mean, percentile

StopReason = Literal["budget"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunUsage:
    """What one pipeline run used: tokens, model calls, cost and time."""

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    """Model calls that reached a model (cache hits excluded)."""
    cached_calls: int = 0
    cost_usd: float = 0.0
    """Intrinsic cost: what the run costs without the cache."""
    paid_usd: float = 0.0
    """What this evaluation actually paid for the run."""
    cost_known: bool = True
    """False when a call had no known price: ``cost_usd``/``paid_usd`` are the known part and
    reports say ``null`` (unknown), never a silent 0."""
    latency_ms: float = 0.0
    cached_steps: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class ExampleResult(RunUsage):
    """One example's run and scores."""

    example_id: str
    inputs: dict[str, Any]
    expected: Any
    outputs: dict[str, Any]
    prediction: Any
    score: float
    scores: dict[str, float]
    feedback: str | None
    success: bool
    error: str | None
    run_id: str | None
    judge_calls: int = 0
    judge_cost_usd: float = 0.0
    judge_paid_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.example_id,
            "inputs": self.inputs,
            "expected": self.expected,
            "outputs": self.outputs,
            "prediction": self.prediction,
            "score": self.score,
            "scores": self.scores,
            "feedback": self.feedback,
            "success": self.success,
            "error": self.error,
            "run_id": self.run_id,
            "trace_id": self.run_id,
            "tokens": self.tokens,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "cost_usd": self.cost_usd if self.cost_known else None,
            "paid_usd": self.paid_usd if self.cost_known else None,
            "latency_ms": self.latency_ms,
            "cached_steps": self.cached_steps,
        }


@dataclass(frozen=True, slots=True)
class Objectives:
    """The fitness vector: quality, cost, latency, robustness (cost and latency per example)."""

    quality: Interval
    cost_usd: float
    tokens: float
    latency_p50_ms: float
    latency_p95_ms: float
    success_rate: float
    calls: float = 0.0
    """Model calls per example, cache hits included (the pipeline's intrinsic call count)."""
    total_cost_usd: float = 0.0
    total_tokens: int = 0
    total_calls: int = 0
    cost_known: bool = True
    """False when some call had no known price (the costs are then the known part only)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "quality": self.quality.to_json(),
            "cost_usd": self.cost_usd if self.cost_known else None,
            "tokens": self.tokens,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "success_rate": self.success_rate,
        }


def objectives(
    results: list[ExampleResult], *, confidence: float = 0.95, seed: int = 0
) -> Objectives:
    """Compute the objectives of a list of results (an empty list gives zeros)."""
    n = len(results)
    latencies = [r.latency_ms for r in results]
    total_cost = sum(r.cost_usd for r in results)
    total_tokens = sum(r.tokens for r in results)
    total_calls = sum(r.calls + r.cached_calls for r in results)
    return Objectives(
        quality=bootstrap_ci([r.score for r in results], confidence=confidence, seed=seed),
        cost_usd=total_cost / n if n else 0.0,
        tokens=total_tokens / n if n else 0.0,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        success_rate=mean([1.0 if r.success else 0.0 for r in results]),
        calls=total_calls / n if n else 0.0,
        total_cost_usd=total_cost,
        total_tokens=total_tokens,
        total_calls=total_calls,
        cost_known=all(r.cost_known for r in results),
    )


@dataclass(frozen=True)
class EvalReport:
    """An evaluation of one pipeline on one split of one dataset."""

    eval_id: str
    pipeline: str
    pipeline_hash: str
    dataset: str
    dataset_hash: str
    split: str
    metrics: tuple[str, ...]
    planned: int
    examples: tuple[ExampleResult, ...]
    objectives: Objectives
    metric_means: dict[str, float] = field(default_factory=dict)
    stopped: StopReason | None = None
    judge_cost_usd: float = 0.0
    judge_calls: int = 0
    duration_s: float = 0.0
    dataset_size: int = 0
    """Rows of a dataset whose splits evopipe drew itself (one file); 0 when they were given."""

    def coverage_note(self) -> str | None:
        """Says so when only one split of the dataset was scored (the default is ``val``)."""
        if self.split == "all" or self.dataset_size <= self.planned:
            return None
        return (
            f"scored {self.n} of {self.dataset_size} rows (split {self.split}); "
            "pass --split all to score every row"
        )

    @property
    def n(self) -> int:
        return len(self.examples)

    @property
    def spent_usd(self) -> float:
        """USD actually paid by this evaluation (pipeline and judge; cache hits are free)."""
        return sum(r.paid_usd + r.judge_paid_usd for r in self.examples)

    @property
    def spent_calls(self) -> int:
        """Model calls actually made by this evaluation (pipeline and judge)."""
        return sum(r.calls + r.judge_calls for r in self.examples)

    @property
    def failures(self) -> int:
        return sum(1 for r in self.examples if not r.success)

    def scores(self) -> dict[str, float]:
        """Example id → score (what the minibatch gate and paired comparison consume)."""
        return {r.example_id: r.score for r in self.examples}

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "dataset": self.dataset,
            "split": self.split,
            "n": self.n,
            "objectives": self.objectives.to_json(),
            "examples": [r.to_json() for r in self.examples],
            "stopped": self.stopped,
        }
