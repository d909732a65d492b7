"""Run a pipeline over a split and score it: bounded concurrency, budgets, recording.

Concurrency is a semaphore; pass your own to share one bound across several evaluations (the
evolution loop evaluates many candidates under one). Budgets stop cleanly: an example is only
started while the money and calls spent so far, plus what the examples in flight are expected
to spend, stay under the caps; the report then says ``stopped="budget"``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evopipe.engine import RunOptions, Services
from evopipe.evaluate.bridge import Outcome, run_one
from evopipe.evaluate.caching import eval_services
from evopipe.evaluate.dataset import Dataset, DatasetError, Example
from evopipe.evaluate.metrics.base import Case, Metric, MetricError, Score
from evopipe.evaluate.recorder import EvalRecorder, EvalStarted, NullRecorder
from evopipe.evaluate.report import EvalReport, ExampleResult, StopReason, objectives
from evopipe.evaluate.stats import mean
from evopipe.spec import EvopipeError, Pipeline, spec_hash


class BudgetError(EvopipeError):
    """A budget is malformed (negative caps)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """Caps over one evaluation: USD and model calls (pipeline and judge together)."""

    max_usd: float | None = None
    max_calls: int | None = None

    def __post_init__(self) -> None:
        if (self.max_usd is not None and self.max_usd < 0) or (
            self.max_calls is not None and self.max_calls < 0
        ):
            raise BudgetError("budget caps must be non-negative")


@dataclass
class _Spend:
    budget: Budget
    usd: float = 0.0
    calls: int = 0
    paying: int = 0
    """Finished examples that made at least one model call (cache hits are free)."""
    in_flight: int = 0
    stopped: StopReason | None = None

    def admit(self) -> bool:
        """May one more example start? Reserves it if so. Each example in flight, and the new
        one, is expected to cost what a paying example cost on average (conservative: a cached
        example would be free)."""
        if self.stopped:
            return False
        avg_usd = self.usd / self.paying if self.paying else 0.0
        avg_calls = self.calls / self.paying if self.paying else 0.0
        ahead = self.in_flight + 1
        over_usd = self.budget.max_usd is not None and (
            self.usd + avg_usd * ahead > self.budget.max_usd or self.budget.max_usd == 0
        )
        over_calls = self.budget.max_calls is not None and (
            self.calls + avg_calls * ahead > self.budget.max_calls or self.budget.max_calls == 0
        )
        if over_usd or over_calls:
            self.stopped = "budget"
            return False
        self.in_flight += 1
        return True

    def settle(self, usd: float, calls: int) -> None:
        self.in_flight -= 1
        self.paying += calls > 0 or usd > 0
        self.usd += usd
        self.calls += calls


@dataclass(frozen=True)
class EvalSettings:
    """Knobs of one evaluation beyond what to run on what."""

    output: str | None = None
    run_options: Any = None
    confidence: float = 0.95
    seed: int = 0
    recorder: EvalRecorder = field(default_factory=NullRecorder)


def pipeline_inputs(pipeline: Pipeline, example: Example) -> dict[str, Any]:
    """The example's inputs restricted to what the pipeline declares; missing required → error."""
    if not pipeline.inputs:
        return dict(example.inputs)
    missing = [
        name
        for name, schema in pipeline.inputs.items()
        if name not in example.inputs and "default" not in schema
    ]
    if missing:
        raise DatasetError(
            f"example {example.id}: pipeline input(s) {missing} have no value; "
            f"map them with --map INPUT=FIELD (example fields: {', '.join(example.row)})"
        )
    return {k: v for k, v in example.inputs.items() if k in pipeline.inputs}


def prediction_of(outputs: dict[str, Any], output: str | None) -> Any:
    """The value metrics score: the named output, the only output, or ``answer``/``output``."""
    if output is not None:
        return outputs.get(output)
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    for name in ("answer", "output", "label", "result"):
        if name in outputs:
            return outputs[name]
    return outputs


async def _score(metrics: Sequence[Metric], case: Case) -> list[tuple[str, Score]]:
    scored = []
    for metric in metrics:
        try:
            scored.append((metric.name, await metric.score(case)))
        except MetricError as exc:
            scored.append((metric.name, Score(0.0, f"{metric.name}: {exc}")))
    return scored


def _result(
    example: Example,
    inputs: dict[str, Any],
    outcome: Outcome,
    prediction: Any,
    scored: list[tuple[str, Score]],
) -> ExampleResult:
    notes = [f"{name}: {s.feedback}" for name, s in scored if s.feedback]
    if outcome.error:
        notes.insert(0, f"run {outcome.status}: {outcome.error}")
    return ExampleResult(
        example_id=example.id,
        inputs=inputs,
        expected=example.expected,
        outputs=outcome.outputs,
        prediction=prediction,
        score=mean([s.value for _, s in scored]) if scored else 0.0,
        scores={name: s.value for name, s in scored},
        feedback="\n".join(notes) or None,
        success=outcome.ok,
        error=outcome.error,
        run_id=outcome.run_id,
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
        calls=outcome.calls,
        cached_calls=outcome.cached_calls,
        cost_usd=outcome.cost_usd,
        paid_usd=outcome.paid_usd,
        cost_known=outcome.cost_known,
        latency_ms=outcome.latency_ms,
        cached_steps=outcome.cached_steps,
        judge_calls=int(sum(s.usage.get("calls", 0) for _, s in scored)),
        judge_cost_usd=sum(s.usage.get("cost_usd", 0.0) for _, s in scored),
        judge_paid_usd=sum(s.usage.get("paid_usd", 0.0) for _, s in scored),
    )


async def run_example(
    pipeline: Pipeline,
    example: Example,
    metrics: Sequence[Metric],
    *,
    services: Any,
    settings: EvalSettings | None = None,
) -> ExampleResult:
    """Run and score one example (no concurrency control, no budget)."""
    cfg = settings or EvalSettings()
    inputs = pipeline_inputs(pipeline, example)
    outcome = await run_one(pipeline, inputs, services, cfg.run_options or RunOptions(cache=True))
    prediction = prediction_of(outcome.outputs, cfg.output) if outcome.ok else None
    if outcome.ok:
        case = Case(prediction, example.expected, inputs, outcome.outputs, example.id)
        scored = await _score(metrics, case)
    else:
        scored = [(m.name, Score(0.0)) for m in metrics]
    return _result(example, inputs, outcome, prediction, scored)


def select(dataset: Dataset | Sequence[Example], split: str, limit: int | None) -> list[Example]:
    examples = list(dataset.split(split) if isinstance(dataset, Dataset) else dataset)
    if limit is not None:
        examples = examples[: max(0, limit)]
    return examples


def _report(
    eval_id: str,
    pipeline: Pipeline,
    p_hash: str,
    dataset: Dataset | Sequence[Example],
    split: str,
    names: tuple[str, ...],
    planned: int,
    results: tuple[ExampleResult, ...],
    spend: _Spend,
    cfg: EvalSettings,
) -> EvalReport:
    return EvalReport(
        eval_id=eval_id,
        pipeline=pipeline.name,
        pipeline_hash=p_hash,
        dataset=dataset.name if isinstance(dataset, Dataset) else "<examples>",
        dataset_hash=dataset.content_hash if isinstance(dataset, Dataset) else "",
        split=split,
        metrics=names,
        planned=planned,
        examples=results,
        objectives=objectives(list(results), confidence=cfg.confidence, seed=cfg.seed),
        metric_means={n: mean([r.scores.get(n, 0.0) for r in results]) for n in names},
        stopped=spend.stopped,
        judge_cost_usd=sum(r.judge_cost_usd for r in results),
        judge_calls=sum(r.judge_calls for r in results),
        dataset_size=(
            len(dataset.examples)
            if isinstance(dataset, Dataset) and not dataset.given_splits
            else 0
        ),
    )


async def evaluate(
    pipeline: Pipeline,
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
) -> EvalReport:
    """Evaluate ``pipeline`` on a split (or an explicit list of examples) with ``metrics``."""
    if not metrics:
        raise MetricError("evaluation needs at least one metric")
    cfg = settings or EvalSettings()
    if isinstance(services, Services):
        services = eval_services(services)
    examples = select(dataset, split, limit)
    if examples:
        pipeline_inputs(pipeline, examples[0])  # fail fast on a wrong mapping
    sem = semaphore or asyncio.Semaphore(max(1, concurrency))
    spend = _Spend(budget or Budget())
    eval_id = uuid.uuid4().hex
    p_hash = spec_hash(pipeline)
    names = tuple(m.name for m in metrics)
    cfg.recorder.start(
        EvalStarted(eval_id, pipeline, p_hash, dataset, split, names, planned=len(examples))
    )
    started = time.perf_counter()

    async def one(example: Example) -> ExampleResult | None:
        async with sem:
            if not spend.admit():
                return None
            try:
                result = await run_example(
                    pipeline, example, metrics, services=services, settings=cfg
                )
            except BaseException:
                spend.settle(0.0, 0)
                raise
            spend.settle(result.paid_usd + result.judge_paid_usd, result.calls + result.judge_calls)
            if spend.budget.max_usd is not None and not result.cost_known:
                raise BudgetError(
                    f"--budget-usd ${spend.budget.max_usd} cannot be enforced: a model this "
                    'pipeline calls has no known price (add [prices."MODEL"] to evopipe.toml, '
                    "or use --budget-calls)"
                )
        cfg.recorder.add_example(eval_id, result)
        return result

    done = await asyncio.gather(*(one(e) for e in examples))
    results = tuple(r for r in done if r is not None)
    report = _report(
        eval_id, pipeline, p_hash, dataset, split, names, len(examples), results, spend, cfg
    )
    report = dataclasses.replace(report, duration_s=time.perf_counter() - started)
    cfg.recorder.finish(eval_id, report)
    return report
