"""The shipped test models: fake, scripted, replay/recording, sim, function."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from evopipe.models import (
    InvalidOutputError,
    Message,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelTimeoutError,
    RateLimitedError,
    ServerError,
)
from evopipe.models.testing import (
    FakeModel,
    FunctionModel,
    RecordingModel,
    ReplayModel,
    ScriptedModel,
    SimModel,
)


def req(prompt: str, schema: dict[str, Any] | None = None, **kw: Any) -> ModelRequest:
    return ModelRequest(messages=(Message("user", prompt),), output_schema=schema, **kw)


async def test_fake_text_is_deterministic_and_prompt_dependent() -> None:
    model = FakeModel()
    a1 = await model.complete(req("hello"))
    a2 = await model.complete(req("hello"))
    b = await model.complete(req("goodbye"))
    assert a1.text == a2.text
    assert a1.text != b.text
    assert a1.text.startswith("fake-")
    assert a1.cost_usd == 0.0
    assert a1.usage.input_tokens == 1
    assert a1.usage.output_tokens == len(a1.text.split())


async def test_fake_respects_max_tokens() -> None:
    r = await FakeModel().complete(req("x", max_tokens=2))
    assert len(r.text.split()) == 2


async def test_fake_json_matches_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "score": {"type": "number"}},
        "required": ["answer", "score"],
        "additionalProperties": False,
    }
    r = await FakeModel().complete(req("q", schema))
    jsonschema.validate(r.data, schema)
    assert json.loads(r.text) == r.data


async def test_scripted_queue_rules_and_errors() -> None:
    model = ScriptedModel(
        responses=["first", {"k": 1}, {"error": "429", "retry_after": 2}, {"error": "500"}],
        rules={r"weather": "sunny"},
    )
    assert (await model.complete(req("what is the weather?"))).text == "sunny"
    assert (await model.complete(req("a"))).text == "first"
    r = await model.complete(req("b"))
    assert r.data == {"k": 1}
    with pytest.raises(RateLimitedError) as info:
        await model.complete(req("c"))
    assert info.value.retry_after_s == 2.0
    with pytest.raises(ServerError):
        await model.complete(req("d"))
    with pytest.raises(ModelError, match="exhausted"):
        await model.complete(req("e"))


async def test_scripted_timeout_marker_and_json_string_for_schema() -> None:
    model = ScriptedModel(responses=[{"error": "timeout"}, '{"a": 1}', "not json"])
    with pytest.raises(ModelTimeoutError):
        await model.complete(req("x"))
    assert (await model.complete(req("x", {"type": "object"}))).data == {"a": 1}
    with pytest.raises(InvalidOutputError):
        await model.complete(req("x", {"type": "object"}))


async def test_scripted_from_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text("responses:\n  - one\n  - two\nrules:\n  '^sum': '{\"total\": 3}'\n")
    model = ScriptedModel.from_file(path)
    assert (await model.complete(req("sum 1 2"))).text == '{"total": 3}'
    assert [(await model.complete(req(p))).text for p in "ab"] == ["one", "two"]


async def test_scripted_bad_file_is_clear(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("42\n")
    with pytest.raises(ModelError, match=r"s\.yaml"):
        ScriptedModel.from_file(path)


async def test_recording_then_replay(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    recorder = RecordingModel(FakeModel(), path)
    schema = {"type": "array", "items": {"type": "integer"}, "minItems": 1}
    originals = [await recorder.complete(req(p, schema)) for p in ("x", "y")]
    replay = ReplayModel.from_file(path)
    for prompt, original in zip(("x", "y"), originals, strict=True):
        again = await replay.complete(req(prompt, schema))
        assert again.text == original.text
        assert again.data == original.data
    with pytest.raises(ModelError, match="no recorded response"):
        await replay.complete(req("z"))


async def test_sim_faults_are_seeded_and_cover_all_kinds() -> None:
    async def outcomes(seed: int) -> list[str]:
        model = SimModel(fail_rate=0.5, seed=seed)
        seen = []
        for i in range(60):
            try:
                await model.complete(req(f"p{i}", {"type": "object"}))
                seen.append("ok")
            except RateLimitedError as exc:
                seen.append("429" if exc.retry_after_s is not None else "429-no-retry-after")
            except ServerError:
                seen.append("500")
            except ModelTimeoutError:
                seen.append("timeout")
            except InvalidOutputError as exc:
                seen.append("malformed" if exc.raw else "malformed-no-raw")
        return seen

    first = await outcomes(1)
    assert first == await outcomes(1)
    assert set(first) == {"ok", "429", "500", "timeout", "malformed"}


async def test_sim_params_and_latency() -> None:
    model = SimModel.from_params("latency_ms=20,jitter_ms=0,seed=3")
    r = await model.complete(req("x"))
    assert r.latency_ms >= 15
    with pytest.raises(ModelError, match="bad parameter"):
        SimModel.from_params("speed=3")


async def test_function_model_sync_and_async() -> None:
    def sync_fn(request: ModelRequest) -> str:
        return request.messages[-1].content.upper()

    async def async_fn(request: ModelRequest) -> ModelResponse:
        return ModelResponse(text="ok", model="f")

    assert (await FunctionModel(sync_fn).complete(req("hi"))).text == "HI"
    assert (await FunctionModel(async_fn).complete(req("hi"))).text == "ok"
    r = await FunctionModel(lambda r: {"a": [1]}).complete(req("hi", {"type": "object"}))
    assert r.data == {"a": [1]}
