"""The default :class:`~evopipe.evolve.fitness.Evaluator`: ``evopipe.evaluate`` over a dataset.

Runs behind the response cache (``evaluate`` wraps the services), so the unchanged prefix of an
offspring costs nothing; the dataset key binds stored evaluations to the dataset's content
hash, the metric and the model override.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from evopipe.engine import RunOptions
from evopipe.evaluate import Dataset, EvalSettings, Metric, evaluate
from evopipe.evolve.fitness import EvalRecord, ExampleResult
from evopipe.models.codec import model_identity
from evopipe.spec import EvopipeError, Pipeline


def _model_identity(services: Any, model: str | None) -> str:
    """The evaluated model's id and content hash (an edited scripted file is a new model)."""
    models = services.models
    mid = model or getattr(models, "default_model_id", "")
    try:
        return model_identity(models.get(mid, cache_policy="off"))
    except (EvopipeError, TypeError):  # unknown or unavailable here: its id still binds
        return model or ""


@dataclass(eq=False)
class DatasetEvaluator:
    dataset: Dataset
    metrics: list[Metric]
    _: KW_ONLY
    services: Any
    metric_spec: str
    model: str | None = None
    output: str | None = None
    concurrency: int = 4
    reuse: bool = True
    """``reuse=False`` (``--no-cache``): evaluations stored by earlier runs never match."""
    evaluations: int = field(default=0, init=False)
    cost_known: bool = field(default=True, init=False)
    """False once an evaluated call had no known price (a USD budget is then refused)."""
    _key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        identity = _model_identity(self.services, self.model)
        raw = f"{self.dataset.content_hash}|{self.metric_spec}|{identity}|{self.output or ''}"
        if not self.reuse:
            raw += f"|{uuid.uuid4().hex}"
        self._key = hashlib.sha256(raw.encode()).hexdigest()[:32]

    @property
    def dataset_key(self) -> str:
        return self._key

    def split_size(self, split: str) -> int:
        return len(self.dataset.split(split))

    def settings(self) -> EvalSettings:
        return EvalSettings(output=self.output, run_options=RunOptions(model=self.model))

    async def evaluate(
        self, pipeline: Pipeline, split: str, *, limit: int | None = None
    ) -> EvalRecord:
        self.evaluations += 1
        settings = self.settings()
        report = await evaluate(
            pipeline,
            self.dataset,
            self.metrics,
            services=self.services,
            split=split,
            limit=limit,
            concurrency=self.concurrency,
            settings=settings,
        )
        self.cost_known = self.cost_known and report.objectives.cost_known
        return EvalRecord(
            split,
            tuple(
                ExampleResult(
                    example_id=r.example_id,
                    score=float(r.score),
                    inputs=dict(r.inputs),
                    output=r.prediction,
                    expected=r.expected,
                    feedback=r.feedback,
                    error=r.error,
                    trace_id=r.run_id,
                    calls=r.calls + r.judge_calls,
                    cost_usd=r.cost_usd + r.judge_cost_usd,
                    latency_ms=r.latency_ms,
                )
                for r in report.examples
            ),
        )
