"""How an evolution run scores candidates, as data stored with the run: the dataset, metric and
model (:class:`EvalSource`). ``--resume`` and ``promote`` rebuild the evaluator from it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from evopipe.engine import Services
from evopipe.evaluate import MetricEnv, build_metrics, project_cost
from evopipe.evaluate.dataset import Dataset, read_dataset
from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.evaluator import DatasetEvaluator
from evopipe.spec import Pipeline


@dataclass(frozen=True)
class EvalSource:
    """How to rebuild a run's evaluator: stored with the run."""

    dataset: str
    metric: str
    model: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    expected: str | None = None
    output: str | None = None
    split_seed: int = 0
    concurrency: int = 4
    no_cache: bool = False
    """Reuse no evaluation stored by an earlier run (``--no-cache``)."""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def read(self) -> Dataset:
        """A JSONL/CSV file (seeded splits) or a directory of ``train/val/test.jsonl``."""
        return read_dataset(
            self.dataset, mapping=self.mapping, expected=self.expected, seed=self.split_seed
        )


def make_evaluator(
    source: EvalSource, services: Services, dataset: Dataset | None = None
) -> DatasetEvaluator:
    """The evaluator of ``source`` (``dataset`` given: use it rather than reading the file)."""
    metrics = build_metrics(source.metric, MetricEnv(services=services))
    return DatasetEvaluator(
        dataset if dataset is not None else source.read(),
        metrics,
        services=services,
        metric_spec=source.metric,
        model=source.model,
        output=source.output,
        concurrency=source.concurrency,
        reuse=not source.no_cache,
    )


async def projection(
    seed: Pipeline, evaluator: DatasetEvaluator, config: EvolveConfig
) -> dict[str, Any]:
    """Estimated calls/USD of the whole run, from a few probe examples of the seed."""
    probe = await project_cost(
        seed,
        evaluator.dataset,
        evaluator.metrics,
        services=evaluator.services,
        split=config.selection_split,
        sample=2,
        settings=evaluator.settings(),
    )
    per_example_calls = probe.calls / max(probe.n, 1)
    per_example_usd = probe.cost_usd / max(probe.n, 1)
    per_eval_calls = per_example_calls * evaluator.split_size(config.selection_split)
    evaluations = 1 + config.generations * config.offspring
    feedback = config.generations * config.offspring * config.feedback_size
    calls = per_eval_calls * evaluations + per_example_calls * feedback
    usd = per_example_usd * (evaluations * evaluator.split_size(config.selection_split) + feedback)
    if config.budget_calls is not None:
        calls = min(calls, config.budget_calls)
    return {
        "evaluations_max": evaluations,
        "calls_per_evaluation": math.ceil(per_eval_calls),
        "calls_max": math.ceil(calls),
        "usd_max": usd,
    }
