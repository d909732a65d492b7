"""llm requests (personas, demos, inheritance, --model), the response cache, budgets shared
with sub-pipelines."""

from __future__ import annotations

from engine_helpers import Harness, spec

from evopipe.engine import EventBus, RunOptions, Services, run_pipeline
from evopipe.models import InMemoryCache, ModelHub
from evopipe.models.base import ModelRequest, ModelResponse, Usage
from evopipe.models.testing import FakeModel, FunctionModel


async def test_persona_demos_and_defaults_shape_the_request(h: Harness) -> None:
    seen: list[ModelRequest] = []

    def capture(request: ModelRequest) -> str:
        seen.append(request)
        return "ok"

    h.add(FunctionModel(capture, model_id="cap"))
    result = await h.run(
        spec(
            """
            inputs: {q: {type: string}}
            defaults: {model: cap, temperature: 0.3, max_tokens: 50, seed: 7}
            personas:
              critic: {system: "You are a critic of {{ inputs.q }}.", temperature: 0.1}
            steps:
              - id: a
                kind: llm
                persona: critic
                system: Be brief.
                prompt: "Judge {{ inputs.q }}"
                demos: [{input: "Judge tea", output: "fine"}]
            """
        ),
        {"q": "coffee"},
    )
    assert result.status == "succeeded", result.error
    request = seen[0]
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "user"]
    assert request.messages[0].content == "You are a critic of coffee.\n\nBe brief."
    assert request.messages[1].content == "Judge tea"
    assert request.messages[3].content == "Judge coffee"
    assert request.temperature == 0.1  # persona beats defaults
    assert request.max_tokens == 50
    assert request.seed == 7


async def test_model_option_overrides_defaults_but_not_pins(h: Harness) -> None:
    h.add(FunctionModel(lambda r: "from-x", model_id="x"))
    h.add(FunctionModel(lambda r: "from-y", model_id="y"))
    h.add(FunctionModel(lambda r: "from-z", model_id="z"))
    pipeline = spec(
        """
        defaults: {model: x}
        steps:
          - {id: free, kind: llm, prompt: a}
          - {id: pinned, kind: llm, model: z, prompt: b}
        outputs: {free: "{{ steps.free.output }}", pinned: "{{ steps.pinned.output }}"}
        """
    )
    assert (await h.run(pipeline)).outputs == {"free": "from-x", "pinned": "from-z"}
    assert (await h.run(pipeline, model="y")).outputs == {"free": "from-y", "pinned": "from-z"}


async def test_temperature_zero_calls_are_cached_unless_disabled() -> None:
    fake = FakeModel()
    hub = ModelHub(allow_network=False, cache=InMemoryCache())
    hub.add(fake, "fake")
    services = Services(models=hub, bus=EventBus())
    pipeline = spec("steps:\n  - {id: a, kind: llm, model: fake, temperature: 0, prompt: same}\n")
    first = await run_pipeline(pipeline, {}, services=services)
    second = await run_pipeline(pipeline, {}, services=services)
    assert first.step("a").cached is False
    assert second.step("a").cached is True
    assert len(fake.calls) == 1
    third = await run_pipeline(pipeline, {}, services=services, options=RunOptions(cache=False))
    assert third.step("a").cached is False
    assert len(fake.calls) == 2


async def test_sub_pipelines_count_against_the_parent_budget(h: Harness) -> None:
    h.add(
        FunctionModel(
            lambda r: ModelResponse(text="t", model="c", usage=Usage(30, 20), cost_usd=0.0),
            model_id="c",
        )
    )
    result = await h.run(
        spec(
            """
            limits: {max_tokens: 120}
            steps:
              - id: sub
                kind: pipeline
                pipeline:
                  apiVersion: evopipe/v1
                  name: child
                  steps:
                    - {id: a, kind: llm, model: c, prompt: "1"}
                    - {id: b, kind: llm, model: c, prompt: "2 {{ steps.a.output }}"}
                    - {id: d, kind: llm, model: c, prompt: "3 {{ steps.b.output }}"}
            """
        )
    )
    assert result.status == "budget_exceeded"
    assert result.budget == "max_tokens"
    assert result.usage.input_tokens + result.usage.output_tokens == 150
    assert result.usage.calls == 3
