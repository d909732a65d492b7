"""Failure paths: timeouts, invalid output, retries and fallbacks, budgets, cancellation."""

from __future__ import annotations

import asyncio
import random

import pytest
from engine_helpers import Harness, spec

from evopipe.engine.steprun import backoff_delay
from evopipe.models.base import ModelRequest, ModelResponse, RateLimitedError, Usage
from evopipe.models.testing import FunctionModel, ScriptedModel
from evopipe.spec.base import Retry

SCHEMA_STEP = """
steps:
  - id: x
    kind: extract
    model: scripted
    prompt: "Extract the title of: {{ inputs.text }}"
    retry: {max_attempts: 1}
    output:
      schema:
        type: object
        required: [title, year]
        properties: {title: {type: string}, year: {type: integer}}
inputs: {text: {type: string, default: "Dune (1965)"}}
outputs: {title: "{{ steps.x.output.title }}", year: "{{ steps.x.output.year }}"}
"""


async def test_step_timeout_is_retried_then_fails(h: Harness) -> None:
    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(5)
        return "late"

    h.add(FunctionModel(slow, model_id="slow"))
    result = await h.run(
        spec(
            """
            steps:
              - {id: s, kind: llm, model: slow, prompt: hi, timeout_s: 0.05,
                 retry: {max_attempts: 2, backoff_s: 0}}
            """
        )
    )
    assert result.status == "failed"
    assert result.step("s").attempts == 2
    assert "timed out after 0.05 s" in (result.error or "")
    assert h.types("s").count("step_retry") == 1
    assert "step_attempt_started" in h.types("s")


async def test_invalid_output_then_valid_after_reask(h: Harness) -> None:
    model = ScriptedModel(
        ["The title is Dune.", {"title": "Dune"}, {"title": "Dune", "year": 1965}]
    )
    h.add(model)
    result = await h.run(spec(SCHEMA_STEP))
    assert result.status == "succeeded", result.error
    assert result.outputs == {"title": "Dune", "year": 1965}
    assert len(model.calls) == 3
    reask = model.calls[1].messages[-1].content
    assert "did not match the required JSON Schema" in reask
    assert model.calls[2].messages[-1].content.count("year") >= 1  # names the missing field
    assert h.types("x").count("output_invalid") == 2
    assert result.step("x").attempts == 1


async def test_common_json_mistakes_are_repaired_without_reasking(h: Harness) -> None:
    raw = "Sure! ```json\n{'title': 'Dune', 'year': 1965,}\n```"
    model = FunctionModel(lambda r: ModelResponse(text=raw, model="fn"), model_id="scripted")
    h.add(model)
    result = await h.run(spec(SCHEMA_STEP))
    assert result.status == "succeeded", result.error
    assert result.outputs == {"title": "Dune", "year": 1965}
    assert len(model.calls) == 1
    assert "output_repaired" in h.types("x")


async def test_invalid_output_exhausting_reasks_fails(h: Harness) -> None:
    model = ScriptedModel(["nope", "still nope", "no"])
    h.add(model)
    result = await h.run(spec(SCHEMA_STEP))
    assert result.status == "failed"
    assert "still invalid after 3 tries" in (result.error or "")


async def test_retry_then_fallback_model(h: Harness) -> None:
    primary = ScriptedModel(
        [{"error": "429", "retry_after": 0}, {"error": "500"}], model_id="primary"
    )
    backup = ScriptedModel(["from backup"], model_id="backup")
    h.add(primary)
    h.add(backup)
    result = await h.run(
        spec(
            """
            steps:
              - id: s
                kind: llm
                model: primary
                prompt: hi
                retry: {max_attempts: 2, backoff_s: 0, fallback_models: [backup]}
            """
        )
    )
    assert result.status == "succeeded", result.error
    assert result.outputs == {"s": "from backup"}
    assert result.step("s").attempts == 3
    types = h.types("s")
    assert types.count("step_retry") == 2
    assert types.count("step_attempt_started") == 2
    succeeded = next(e for e in h.events.events if e.type == "step_succeeded")
    assert succeeded.data["model"] == "backup"


async def test_non_retryable_error_fails_at_once(h: Harness) -> None:
    model = ScriptedModel([{"error": "400"}], model_id="bad")
    h.add(model)
    result = await h.run(spec("steps:\n  - {id: s, kind: llm, model: bad, prompt: hi}"))
    assert result.status == "failed"
    assert result.step("s").attempts == 1
    assert len(model.calls) == 1


def test_backoff_is_exponential_with_full_jitter_and_honours_retry_after() -> None:
    retry = Retry(backoff_s=1.0, max_backoff_s=8.0)
    rng = random.Random(1)
    err = RateLimitedError("x")
    delays = [backoff_delay(retry, n, err, rng) for n in (1, 2, 3, 4, 5)]
    for n, delay in zip((1, 2, 3, 4, 5), delays, strict=True):
        assert 0 <= delay <= min(8.0, 2 ** (n - 1))
    assert backoff_delay(retry, 1, RateLimitedError("x", retry_after_s=5.0), rng) >= 5.0
    no_jitter = Retry(backoff_s=1.0, max_backoff_s=8.0, jitter=False)
    assert [backoff_delay(no_jitter, n, err) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]


def _costly(request: ModelRequest) -> ModelResponse:
    return ModelResponse(text="ok", model="costly", usage=Usage(40, 10), cost_usd=0.01)


CHAIN5 = """
limits: {LIMITS}
steps:
  - {id: a, kind: llm, model: costly, prompt: "1"}
  - {id: b, kind: llm, model: costly, prompt: "2 {{ steps.a.output }}"}
  - {id: c, kind: llm, model: costly, prompt: "3 {{ steps.b.output }}"}
  - {id: d, kind: llm, model: costly, prompt: "4 {{ steps.c.output }}"}
  - {id: e, kind: llm, model: costly, prompt: "5 {{ steps.d.output }}"}
"""


@pytest.mark.parametrize(
    ("limits", "budget", "done"),
    [
        ("{max_tokens: 120}", "max_tokens", 2),
        ("{max_cost_usd: 0.025}", "max_cost_usd", 2),
    ],
)
async def test_each_budget_ends_the_run(h: Harness, limits: str, budget: str, done: int) -> None:
    h.add(FunctionModel(_costly, model_id="costly"))
    result = await h.run(spec(CHAIN5.replace("{LIMITS}", limits)))
    assert result.status == "budget_exceeded"
    assert result.budget == budget
    assert budget in (result.error or "")
    assert sum(s.status == "succeeded" for s in result.steps) == done
    assert result.to_json()["status"] == "budget_exceeded"


async def test_max_steps_budget_counts_inner_steps(h: Harness) -> None:
    # statically 2 steps (within the limit); at run time the map fans out to 6 inner steps
    result = await h.run(
        spec(
            """
            limits: {max_steps: 4}
            inputs: {items: {type: array, default: [1, 2, 3, 4, 5, 6]}}
            steps:
              - id: each
                kind: map
                over: "{{ inputs.items }}"
                max_concurrency: 1
                steps:
                  - {id: double, kind: set, values: {v: "{{ item * 2 }}"}}
            """
        )
    )
    assert result.status == "budget_exceeded"
    assert result.budget == "max_steps"
    assert "more than 4 steps" in (result.error or "")


async def test_timeout_budget(h: Harness) -> None:
    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(0.2)
        return "x"

    h.add(FunctionModel(slow, model_id="slowish"))
    result = await h.run(
        spec(
            """
            limits: {timeout_s: 0.3}
            steps:
              - {id: a, kind: llm, model: slowish, prompt: "1"}
              - {id: b, kind: llm, model: slowish, prompt: "{{ steps.a.output }}"}
              - {id: c, kind: llm, model: slowish, prompt: "{{ steps.b.output }}"}
            """
        )
    )
    assert result.status == "budget_exceeded"
    assert result.budget == "timeout_s"
    assert result.step("a").status == "succeeded"


async def test_options_tighten_budgets(h: Harness) -> None:
    h.add(FunctionModel(_costly, model_id="costly"))
    result = await h.run(spec(CHAIN5.replace("{LIMITS}", "{}")), max_steps=1)
    assert result.status == "budget_exceeded"
    assert result.budget == "max_steps"


async def test_kill_switch_cancels_within_a_second(h: Harness) -> None:
    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(30)
        return "x"

    h.add(FunctionModel(slow, model_id="forever"))
    pipeline = spec("steps:\n  - {id: a, kind: llm, model: forever, prompt: hi}")
    task = asyncio.create_task(h.run(pipeline, run_id="kill-me", cancel_poll_s=0.05))
    await asyncio.sleep(0.1)
    h.store.request_cancel("kill-me")
    result = await asyncio.wait_for(task, timeout=1.0)
    assert result.status == "cancelled"
    assert h.store.get_run("kill-me").status == "cancelled"
    events = h.store.load_events("kill-me")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_max_concurrency_is_respected(h: Harness) -> None:
    running = 0
    peak = 0

    async def track(request: ModelRequest) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return "x"

    h.add(FunctionModel(track, model_id="track"))
    steps = "\n".join(f"  - {{id: s{i}, kind: llm, model: track, prompt: p{i}}}" for i in range(12))
    result = await h.run(spec("limits: {max_concurrency: 3}\nsteps:\n" + steps))
    assert result.status == "succeeded"
    assert peak == 3
    peak = 0
    result = await h.run(spec("steps:\n" + steps), max_concurrency=5)
    assert peak == 5


async def test_cancelling_the_caller_propagates_to_running_steps(h: Harness) -> None:
    cancelled: list[str] = []

    async def forever(request: ModelRequest) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(request.messages[-1].content)
            raise
        return "never"

    h.add(FunctionModel(forever, model_id="forever"))
    pipeline = spec(
        """
        steps:
          - {id: a, kind: llm, model: forever, prompt: one}
          - {id: b, kind: llm, model: forever, prompt: two}
        """
    )
    task = asyncio.create_task(h.run(pipeline, run_id="c1"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cancelled) == ["one", "two"]
    assert h.store.get_run("c1").status == "cancelled"


async def test_budget_exceeded_in_one_branch_stops_the_others(h: Harness) -> None:
    async def forever(request: ModelRequest) -> str:
        await asyncio.sleep(30)
        return "never"

    h.add(FunctionModel(forever, model_id="forever"))
    h.add(FunctionModel(_costly, model_id="costly"))
    pipeline = spec(
        """
        limits: {max_tokens: 60}
        steps:
          - {id: slow, kind: llm, model: forever, prompt: wait}
          - {id: a, kind: llm, model: costly, prompt: "1"}
          - {id: b, kind: llm, model: costly, prompt: "2 {{ steps.a.output }}"}
        """
    )
    result = await asyncio.wait_for(h.run(pipeline), timeout=5)
    assert result.status == "budget_exceeded"
    assert result.budget == "max_tokens"
