"""Evaluation operations: a pipeline (a path, a name or an object) on a dataset (paths or a
:class:`Dataset`), with a cost projection first and a budget; or two pipelines compared with a
paired bootstrap. Results are recorded in the store; responses are cached there, so running the
same evaluation again makes no model call."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.app.group import OperationGroup
from evopipe.engine import RunOptions, Services
from evopipe.evaluate.compare import Comparison, Projection, compare, project_cost
from evopipe.evaluate.dataset import Dataset, read_dataset
from evopipe.evaluate.metrics import MetricEnv, build_metrics
from evopipe.evaluate.metrics.base import Metric
from evopipe.evaluate.recorder import EvalRecorder, EvalStarted, TeeRecorder
from evopipe.evaluate.records import StoreRecorder
from evopipe.evaluate.report import EvalReport, ExampleResult
from evopipe.evaluate.runner import Budget, EvalSettings, evaluate
from evopipe.spec import Pipeline

__all__ = [
    "CompareOutcome",
    "Comparison",
    "DatasetSource",
    "EvalOutcome",
    "EvalReport",
    "EvalRequest",
    "EvalStarted",
    "Evaluations",
    "ExampleResult",
    "Projection",
]

DatasetSource = Dataset | Sequence[str]
"""A loaded dataset, or ``["data.jsonl"]``, ``["dir/"]``, ``["val=a.jsonl", ...]``."""


@dataclass(frozen=True)
class EvalRequest:
    """Everything ``evopipe eval`` was asked (paths and specs as the user wrote them)."""

    dataset: DatasetSource
    metrics: str
    split: str = "val"
    limit: int | None = None
    model: str | None = None
    mapping: Sequence[str] = ()
    expected: str | None = None
    output: str | None = None
    concurrency: int = 8
    budget_usd: float | None = None
    budget_calls: int | None = None
    seed: int = 0
    project: int = 3
    python_allow: Sequence[str] = ()
    progress: EvalRecorder | None = None
    """Also told about each example as it finishes (a progress display)."""


@dataclass(frozen=True)
class EvalOutcome:
    report: EvalReport
    projection: Projection | None = None


@dataclass(frozen=True)
class CompareOutcome:
    comparison: Comparison
    extra: dict[str, Any] = field(default_factory=dict)


def _scope(req: EvalRequest, services: Services) -> dict[str, Any]:
    """Where the examples run and how many, at what concurrency: the same for a cost
    projection, an evaluation and a comparison of one request."""
    return {
        "services": services,
        "split": req.split,
        "limit": req.limit,
        "concurrency": req.concurrency,
    }


def _remaining(budget: Budget, projection: Projection | None, sampled: EvalReport | None) -> Budget:
    if projection is None or sampled is None:
        return budget
    spent_usd, spent_calls = sampled.spent_usd, sampled.spent_calls
    return Budget(
        None if budget.max_usd is None else max(0.0, budget.max_usd - spent_usd),
        None if budget.max_calls is None else max(0, budget.max_calls - spent_calls),
    )


class Evaluations(OperationGroup):
    def services(self, base_dir: Path | None = None) -> Services:
        """Evaluation services: responses always cached (a repeated evaluation is free)."""
        return self.app.services(base_dir=base_dir, cache_policy="always")

    def dataset(self, req: EvalRequest) -> Dataset:
        if isinstance(req.dataset, Dataset):
            return req.dataset
        return read_dataset(req.dataset, mapping=req.mapping, expected=req.expected, seed=req.seed)

    def _metrics(self, req: EvalRequest, services: Services) -> list[Metric]:
        allow = frozenset(req.python_allow) | services.policy.python_allow
        env = MetricEnv(services=services, python_allow=allow, base_dir=str(services.base_dir))
        return build_metrics(req.metrics, env)

    def _settings(self, req: EvalRequest) -> EvalSettings:
        recorders: list[EvalRecorder] = []
        if self.app.settings.persist:
            recorders.append(StoreRecorder(self.app.store))
        if req.progress is not None:
            recorders.append(req.progress)
        base = EvalSettings(
            output=req.output,
            run_options=RunOptions(model=req.model or self.app.settings.model, cache=True),
            seed=req.seed,
        )
        return dataclasses.replace(base, recorder=TeeRecorder(recorders)) if recorders else base

    async def evaluate(self, req: EvalRequest, pipeline: str | Path | Pipeline) -> EvalOutcome:
        """Project the cost from a few examples (cached, so not paid twice), then evaluate under
        the budget (what the projection spent counts against it)."""
        resolved = self.app.pipelines.resolve(pipeline)
        services = self.services(resolved.path.parent if resolved.path else None)
        dataset = self.dataset(req)
        metrics = self._metrics(req, services)
        settings = self._settings(req)
        budget = Budget(req.budget_usd, req.budget_calls)
        projection: Projection | None = None
        if req.project > 0:
            projection = await project_cost(
                resolved.pipeline,
                dataset,
                metrics,
                sample=req.project,
                settings=EvalSettings(output=req.output, run_options=settings.run_options),
                **_scope(req, services),
            )
            budget = _remaining(budget, projection, projection.report)
        report = await evaluate(
            resolved.pipeline,
            dataset,
            metrics,
            budget=budget,
            settings=settings,
            **_scope(req, services),
        )
        return EvalOutcome(report, projection)

    async def compare(
        self, req: EvalRequest, a: str | Path | Pipeline, b: str | Path | Pipeline
    ) -> CompareOutcome:
        """Evaluate two pipelines on the same examples and compare them (paired bootstrap)."""
        first, second = self.app.pipelines.resolve(a), self.app.pipelines.resolve(b)
        services = self.services(first.path.parent if first.path else None)
        comparison = await compare(
            first.pipeline,
            second.pipeline,
            self.dataset(req),
            self._metrics(req, services),
            budget=Budget(req.budget_usd, req.budget_calls),
            settings=self._settings(req),
            seed=req.seed,
            **_scope(req, services),
        )
        return CompareOutcome(comparison)
