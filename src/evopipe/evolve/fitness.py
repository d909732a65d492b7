"""What evolution knows about a candidate once it has been evaluated on a split.

The evaluation itself (running the pipeline over a dataset and scoring with a metric) belongs
to :mod:`evopipe.evaluate`; the loop only talks to the small :class:`Evaluator` protocol below,
whose default implementation (:mod:`evopipe.evolve.evaluator`) wraps the evaluate package.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from evopipe.spec import Pipeline

OBJECTIVES: dict[str, str] = {
    "quality": "max",
    "cost": "min",
    "latency": "min",
    "calls": "min",
    "robustness": "max",
}
"""Objective name → direction. Selection turns every objective into a 'higher is better' key."""


@dataclass(frozen=True)
class ExampleResult:
    """One example of one evaluation: score in [0, 1], what went in and out, what it cost."""

    example_id: str
    score: float
    inputs: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    expected: Any = None
    feedback: str | None = None
    error: str | None = None
    trace_id: str | None = None
    calls: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExampleResult:
        return cls(**data)


@dataclass(frozen=True)
class EvalRecord:
    """A candidate's per-example results on one split of one dataset."""

    split: str
    examples: tuple[ExampleResult, ...]

    @property
    def scores(self) -> dict[str, float]:
        return {e.example_id: e.score for e in self.examples}

    @property
    def quality(self) -> float:
        return sum(e.score for e in self.examples) / len(self.examples) if self.examples else 0.0

    @property
    def calls(self) -> int:
        return sum(e.calls for e in self.examples)

    @property
    def cost_usd(self) -> float:
        return sum(e.cost_usd for e in self.examples)

    @property
    def trace_ids(self) -> list[str]:
        return [e.trace_id for e in self.examples if e.trace_id]

    def objectives(self) -> dict[str, float]:
        """Per-example means of every known objective (raw values, not direction-adjusted)."""
        n = max(len(self.examples), 1)
        latencies = sorted(e.latency_ms for e in self.examples) or [0.0]
        return {
            "quality": self.quality,
            "cost": self.cost_usd / n,
            "latency": latencies[len(latencies) // 2],
            "calls": self.calls / n,
            "robustness": sum(1 for e in self.examples if e.error is None) / n,
        }

    def to_json(self) -> dict[str, Any]:
        return {"split": self.split, "examples": [asdict(e) for e in self.examples]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalRecord:
        return cls(
            split=str(data["split"]),
            examples=tuple(ExampleResult.from_json(e) for e in data["examples"]),
        )


class Evaluator(Protocol):
    """Evaluates a pipeline on a named split of the run's dataset with the run's metric."""

    @property
    def dataset_key(self) -> str:
        """Identifies dataset + metric (+ model override): evaluations are cached under it."""
        ...

    def split_size(self, split: str) -> int: ...

    async def evaluate(
        self, pipeline: Pipeline, split: str, *, limit: int | None = None
    ) -> EvalRecord: ...
