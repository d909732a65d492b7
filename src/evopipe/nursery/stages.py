"""The nursery's stages: smoke → dataset → robustness → certified, each a gate.

A stage is one async function of a :class:`Trial` returning a :class:`StageResult`, registered
in :data:`STAGES`; the first gate that refuses stops the trial. Robustness evaluates the same
examples as the dataset stage while :class:`~evopipe.nursery.faults.FaultyModels` injects
faults (429, 500, timeouts, malformed output): a pipeline that scores on clean data but breaks
under faults (no retries, no fallback) is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evopipe.engine import Services
from evopipe.evaluate.caching import eval_services
from evopipe.evaluate.dataset import Dataset
from evopipe.evaluate.metrics.base import Metric
from evopipe.evaluate.report import EvalReport
from evopipe.evaluate.runner import EvalSettings, evaluate
from evopipe.nursery.faults import FaultyModels
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError


class NurseryError(EvopipeError):
    """A nursery setting is out of range, or the dataset has no example to try."""


@dataclass(frozen=True)
class NurseryConfig:
    min_quality: float = 0.8
    """The dataset stage's gate: mean score on the split."""
    fault_rate: float = 0.3
    """Share of model calls that fail during the robustness stage."""
    tolerance: float = 0.1
    """How much the mean score may drop under faults."""
    split: str = "all"
    seed: int = 0
    concurrency: int = 4

    def __post_init__(self) -> None:
        if not 0 <= self.min_quality <= 1 or not 0 <= self.tolerance <= 1:
            raise NurseryError("min_quality and tolerance must be within [0, 1]")
        if not 0 < self.fault_rate <= 1:
            raise NurseryError("fault_rate must be within (0, 1]")


@dataclass(frozen=True)
class StageResult:
    stage: str
    passed: bool
    reason: str
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Trial:
    """One pipeline under trial: what to run it on, and what earlier stages measured."""

    pipeline: Pipeline
    dataset: Dataset
    metrics: Sequence[Metric]
    services: Services
    config: NurseryConfig
    settings: EvalSettings = field(default_factory=EvalSettings)
    clean: EvalReport | None = None

    async def evaluate(self, services: Services, limit: int | None = None) -> EvalReport:
        return await evaluate(
            self.pipeline,
            self.dataset,
            self.metrics,
            services=services,
            split=self.config.split,
            limit=limit,
            concurrency=self.config.concurrency,
            settings=self.settings,
        )


def quality(report: EvalReport) -> float:
    return sum(r.score for r in report.examples) / report.n if report.n else 0.0


def _errors(report: EvalReport) -> list[str]:
    return [f"{r.example_id}: {r.error}" for r in report.examples if r.error][:3]


async def smoke(trial: Trial) -> StageResult:
    """Runs at all: the first example completes."""
    report = await trial.evaluate(trial.services, limit=1)
    if report.n == 0:
        raise NurseryError(f"the dataset has no example in split {trial.config.split!r}")
    ok = report.failures == 0
    why = "the first example runs" if ok else f"the first example fails: {_errors(report)}"
    return StageResult("smoke", ok, why, {"failures": report.failures})


async def on_dataset(trial: Trial) -> StageResult:
    """Scores on the dataset: mean score at least ``min_quality``."""
    trial.clean = report = await trial.evaluate(trial.services)
    q, gate = quality(report), trial.config.min_quality
    ok = q >= gate
    why = f"mean score {q:.3f} {'≥' if ok else '<'} {gate:.3f} on {report.n} example(s)"
    return StageResult("dataset", ok, why, {"quality": q, "n": report.n, "errors": _errors(report)})


async def robustness(trial: Trial) -> StageResult:
    """The same examples under injected faults: the score holds (within ``tolerance``)."""
    cfg = trial.config
    clean = trial.clean if trial.clean is not None else await trial.evaluate(trial.services)
    faulty = FaultyModels(eval_services(trial.services).models, rate=cfg.fault_rate, seed=cfg.seed)
    report = await trial.evaluate(dataclasses.replace(trial.services, models=faulty))
    q, base = quality(report), quality(clean)
    ok = q >= base - cfg.tolerance and q >= cfg.min_quality
    why = (
        f"under {cfg.fault_rate:.0%} injected faults ({len(faulty.injected)} injected) the mean "
        f"score is {q:.3f} vs {base:.3f} clean"
        + ("" if ok else f" (a drop over {cfg.tolerance:.2f} or below {cfg.min_quality:.2f})")
    )
    metrics = {
        "quality": q,
        "clean_quality": base,
        "injected": len(faulty.injected),
        "faults": sorted(set(faulty.injected)),
        "failed_examples": report.failures,
        "errors": _errors(report),
    }
    return StageResult("robustness", ok, why, metrics)


Stage = Callable[[Trial], Awaitable[StageResult]]

STAGES: tuple[tuple[str, Stage], ...] = (
    ("smoke", smoke),
    ("dataset", on_dataset),
    ("robustness", robustness),
)
"""The gates in order; passing all of them certifies the pipeline."""
