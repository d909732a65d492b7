"""Evaluation runs through the real engine: scoring, failures, concurrency, budgets, cache."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from eval_helpers import CLASSIFY, labeller, make_services, pipeline

from evopipe.engine import Services
from evopipe.evaluate import (
    Budget,
    BudgetError,
    DatasetError,
    EvalSettings,
    MemoryRecorder,
    build_metrics,
    compare,
    evaluate,
    from_rows,
    gate,
    project_cost,
)
from evopipe.models import ModelHub
from evopipe.models.testing import FunctionModel
from evopipe.spec import Pipeline

CALC_ROWS = [
    {"expr": "1+1", "expected": "2", "split": "val"},
    {"expr": "2*3", "expected": "6", "split": "val"},
    {"expr": "10/4", "expected": "2.5", "split": "val"},
    {"expr": "1/0", "expected": "0", "split": "val"},
    {"expr": "7-2", "expected": "4", "split": "val"},
]


def _services() -> Services:
    return Services(models=ModelHub())


async def test_scores_failures_and_objectives(calc: Pipeline) -> None:
    ds = from_rows(CALC_ROWS, name="calc")
    recorder = MemoryRecorder()
    report = await evaluate(
        calc,
        ds,
        build_metrics("numeric"),
        services=_services(),
        settings=EvalSettings(recorder=recorder),
    )
    by_id = {r.inputs["expr"]: r for r in report.examples}
    assert report.n == 5
    assert by_id["1+1"].score == 1.0
    assert by_id["7-2"].score == 0.0
    assert by_id["7-2"].feedback is not None
    assert "expected 4, got 5" in by_id["7-2"].feedback
    failed = by_id["1/0"]
    assert not failed.success
    assert failed.score == 0.0
    assert failed.error
    assert failed.run_id
    q = report.objectives.quality
    assert q.mean == pytest.approx(3 / 5)
    assert q.low <= q.mean <= q.high
    assert report.objectives.success_rate == pytest.approx(4 / 5)
    assert report.objectives.latency_p95_ms >= report.objectives.latency_p50_ms > 0
    assert report.failures == 1
    assert len(recorder.examples) == 5
    assert recorder.reports == [report]
    doc = report.to_json()
    assert list(doc) == ["pipeline", "dataset", "split", "n", "objectives", "examples", "stopped"]
    assert set(doc["objectives"]) == {
        "quality",
        "cost_usd",
        "tokens",
        "latency_p50_ms",
        "latency_p95_ms",
        "success_rate",
    }
    assert set(doc["objectives"]["quality"]) == {"mean", "ci_low", "ci_high"}
    json.dumps(doc)


async def test_limit_split_and_mapping_errors(calc: Pipeline) -> None:
    ds = from_rows(CALC_ROWS, name="calc")
    report = await evaluate(calc, ds, build_metrics("numeric"), services=_services(), limit=2)
    assert report.n == 2
    assert report.planned == 2
    bad = from_rows([{"question": "1+1", "expected": "2"}])
    with pytest.raises(DatasetError, match=r"pipeline input\(s\) \['expr'\] have no value"):
        await evaluate(calc, bad, build_metrics("numeric"), services=_services(), split="all")


async def test_concurrency_is_bounded_by_a_shared_semaphore(classify: Pipeline) -> None:
    active = 0
    peak = 0

    async def slow(request: object) -> str:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return "other"

    model = FunctionModel(slow, model_id="function")
    services = make_services(model)
    rows = [{"text": f"message {i}", "label": "other"} for i in range(12)]
    ds = from_rows(rows)
    sem = asyncio.Semaphore(3)
    metrics = build_metrics("exact")
    await asyncio.gather(
        evaluate(classify, ds, metrics, services=services, split="all", semaphore=sem),
        evaluate(classify, ds, metrics, services=services, split="all", semaphore=sem),
    )
    assert peak <= 3
    assert peak >= 2


async def test_second_identical_evaluation_costs_zero_model_calls(classify: Pipeline) -> None:
    model = FunctionModel(labeller(cost_usd=0.001), model_id="function")
    services = make_services(model)
    rows = [
        {"text": "I want my money back", "label": "refund"},
        {"text": "hello there", "label": "other"},
        {"text": "money back please", "label": "refund"},
        {"text": "what time is it", "label": "refund"},
    ]
    ds = from_rows(rows)
    metrics = build_metrics("exact")
    first = await evaluate(classify, ds, metrics, services=services, split="all")
    calls_after_first = len(model.calls)
    assert calls_after_first == 4
    assert first.objectives.quality.mean == pytest.approx(0.75)
    second = await evaluate(classify, ds, metrics, services=services, split="all")
    assert len(model.calls) == calls_after_first
    assert second.objectives.quality.mean == first.objectives.quality.mean
    assert second.spent_calls == 0
    assert second.spent_usd == 0.0
    assert all(r.cached_calls == 1 for r in second.examples)
    # The cost objective stays the pipeline's intrinsic cost, cache or not.
    assert first.spent_usd == pytest.approx(0.004)
    assert second.objectives.total_cost_usd == pytest.approx(first.objectives.total_cost_usd)


async def test_evaluation_caches_even_when_the_hub_has_no_cache(classify: Pipeline) -> None:
    model = FunctionModel(labeller(), model_id="function")
    services = make_services(model, cache=False)
    rows = [{"text": "same text", "label": "other"}] * 3
    await evaluate(
        classify,
        from_rows(rows),
        build_metrics("exact"),
        services=services,
        split="all",
        concurrency=1,
    )
    assert len(model.calls) == 1


async def test_budget_calls_stops_cleanly(classify: Pipeline) -> None:
    model = FunctionModel(labeller(), model_id="function")
    services = make_services(model)
    rows = [{"text": f"message {i}", "label": "other"} for i in range(10)]
    report = await evaluate(
        classify,
        from_rows(rows),
        build_metrics("exact"),
        services=services,
        split="all",
        concurrency=1,
        budget=Budget(max_calls=4),
    )
    assert report.stopped == "budget"
    assert report.n == 4
    assert report.planned == 10
    assert len(model.calls) == 4
    assert report.to_json()["stopped"] == "budget"


async def test_budget_usd_stops_before_exceeding(classify: Pipeline) -> None:
    model = FunctionModel(labeller(cost_usd=0.01), model_id="function")
    services = make_services(model)
    rows = [{"text": f"message {i}", "label": "other"} for i in range(10)]
    report = await evaluate(
        classify,
        from_rows(rows),
        build_metrics("exact"),
        services=services,
        split="all",
        concurrency=1,
        budget=Budget(max_usd=0.035),
    )
    assert report.stopped == "budget"
    assert report.n == 3
    assert report.objectives.total_cost_usd == pytest.approx(0.03)
    with pytest.raises(BudgetError):
        Budget(max_usd=-1)


async def test_gate_and_compare_on_the_same_examples(calc: Pipeline, tmp_path: Path) -> None:
    ds = from_rows(CALC_ROWS, name="calc")
    metrics = build_metrics("numeric")
    base = await evaluate(calc, ds, metrics, services=_services())
    # A "worse" baseline: every example scored 0 → the calculator passes the gate.
    minibatch = list(ds.split("val"))[:3]
    result = await gate(
        calc, {e.id: 0.0 for e in minibatch}, minibatch, metrics, services=_services()
    )
    assert result.passed
    assert result.candidate_mean == pytest.approx(1.0)
    tie = await gate(calc, base.scores(), minibatch, metrics, services=_services())
    assert not tie.passed  # equal is not better
    cmp = await compare(calc, calc, ds, metrics, services=_services())
    assert cmp.paired.n == 5
    assert cmp.paired.diff == 0.0
    assert cmp.paired.p_value == 1.0


async def test_cost_projection_from_a_few_examples(classify: Pipeline) -> None:
    model = FunctionModel(labeller(cost_usd=0.002), model_id="function")
    services = make_services(model)
    rows = [{"text": f"message {i}", "label": "other"} for i in range(20)]
    proj = await project_cost(
        classify,
        from_rows(rows),
        build_metrics("exact"),
        services=services,
        split="all",
        sample=2,
    )
    assert proj.sampled == 2
    assert proj.n == 20
    assert proj.calls == pytest.approx(20)
    assert proj.cost_usd == pytest.approx(0.04)
    assert len(model.calls) == 2


async def test_robustness_under_injected_faults() -> None:
    from evopipe.engine import RunOptions

    flaky = pipeline(
        CLASSIFY.replace("    kind: llm\n", "    kind: llm\n    retry: {max_attempts: 1}\n")
    )
    rows = [{"text": f"message {i}", "label": "other"} for i in range(20)]
    metrics = build_metrics("exact")
    settings = EvalSettings(run_options=RunOptions(model="sim:fail_rate=1.0,seed=3"))
    broken = await evaluate(
        flaky, from_rows(rows), metrics, services=_services(), split="all", settings=settings
    )
    assert broken.objectives.success_rate == 0.0
    assert all(r.error for r in broken.examples)
    assert broken.objectives.quality.mean == 0.0
    settings = EvalSettings(run_options=RunOptions(model="sim:fail_rate=0.5,seed=3"))
    half = await evaluate(
        flaky, from_rows(rows), metrics, services=_services(), split="all", settings=settings
    )
    assert 0.0 < half.objectives.success_rate < 1.0
    assert half.failures == sum(1 for r in half.examples if r.error)


async def test_budget_counts_what_is_paid_not_what_the_cache_saved(classify: Pipeline) -> None:
    model = FunctionModel(labeller(cost_usd=0.01), model_id="function")
    services = make_services(model)
    rows = [{"text": f"message {i}", "label": "other"} for i in range(10)]
    ds = from_rows(rows)
    metrics = build_metrics("exact")
    warm = await evaluate(classify, ds, metrics, services=services, split="all", limit=5)
    assert warm.spent_usd == pytest.approx(0.05)
    report = await evaluate(
        classify,
        ds,
        metrics,
        services=services,
        split="all",
        concurrency=1,
        budget=Budget(max_usd=0.035),
    )
    # The 5 cached examples are free; 3 more fit in the budget.
    assert report.n == 8
    assert report.stopped == "budget"
    assert report.spent_usd == pytest.approx(0.03)
    assert report.objectives.total_cost_usd == pytest.approx(0.08)


async def test_compare_detects_a_worse_pipeline(calc: Pipeline) -> None:
    from eval_helpers import CALC

    doubled = pipeline(CALC.replace('"{{ inputs.expr }}"', '"({{ inputs.expr }})*2"'))
    rows = [{"expr": f"{i}+{i}", "expected": str(2 * i)} for i in range(1, 31)]
    cmp = await compare(
        calc,
        doubled,
        from_rows(rows),
        build_metrics("numeric"),
        services=_services(),
        split="all",
        limit=20,
    )
    assert cmp.paired.n == 20
    assert cmp.a.dataset == "dataset"
    assert cmp.paired.mean_a == 1.0
    assert cmp.paired.mean_b == 0.0
    assert cmp.paired.diff == -1.0
    assert cmp.paired.p_value == pytest.approx(2 * 0.5**20)  # exact sign test: no spread
