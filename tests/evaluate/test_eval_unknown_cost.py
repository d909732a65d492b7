"""An unknown price stays unknown in evaluation reports, and a USD budget that cannot be
enforced is refused (issue 20, item 3)."""

from __future__ import annotations

import pytest
from eval_helpers import labeller, make_services

from evopipe.evaluate import Budget, BudgetError, build_metrics, evaluate, from_rows
from evopipe.models.testing import FunctionModel
from evopipe.spec import Pipeline

ROWS = [{"text": f"message {i}", "label": "other"} for i in range(3)]


async def test_report_says_unknown_not_zero(classify: Pipeline) -> None:
    services = make_services(FunctionModel(labeller(cost_usd=None), model_id="function"))
    report = await evaluate(
        classify, from_rows(ROWS), build_metrics("exact"), services=services, split="all"
    )
    assert report.n == 3
    data = report.to_json()
    assert data["objectives"]["cost_usd"] is None
    assert all(e["cost_usd"] is None and e["paid_usd"] is None for e in data["examples"])


async def test_usd_budget_on_an_unpriced_model_is_refused(classify: Pipeline) -> None:
    services = make_services(FunctionModel(labeller(cost_usd=None), model_id="function"))
    with pytest.raises(BudgetError, match="no known price"):
        await evaluate(
            classify,
            from_rows(ROWS),
            build_metrics("exact"),
            services=services,
            split="all",
            concurrency=1,
            budget=Budget(max_usd=1.0),
        )


async def test_priced_models_keep_their_cost(classify: Pipeline) -> None:
    services = make_services(FunctionModel(labeller(cost_usd=0.01), model_id="function"))
    report = await evaluate(
        classify, from_rows(ROWS), build_metrics("exact"), services=services, split="all"
    )
    assert report.to_json()["objectives"]["cost_usd"] == pytest.approx(0.01)


async def test_the_eval_meter_counts_every_request_sent() -> None:
    import dataclasses

    from evopipe.evaluate.caching import METER, EvalCachedModel, Meter
    from evopipe.models import InMemoryCache, Message, ModelRequest

    def answer(request: ModelRequest) -> object:
        return dataclasses.replace(labeller(0.01)(request), requests=3)  # 2 re-asks inside

    model = EvalCachedModel(FunctionModel(answer), InMemoryCache())
    meter = Meter()
    token = METER.set(meter)
    try:
        await model.complete(ModelRequest((Message("user", "hi"),)))
    finally:
        METER.reset(token)
    assert meter.calls == 3
