"""The SDK adapters through the real openai / anthropic / google-genai clients on a mock
transport: plain text, JSON-Schema output, usage → cost, 429 then success, 500 then fallback,
timeouts, error mapping, the network guard."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import genai_prices
import httpx2
import pytest
from models_mock_http import MockServer

from evopipe.models import (
    Message,
    ModelError,
    ModelHub,
    ModelRequest,
    ModelTimeoutError,
    RateLimitedError,
    ServerError,
    ToolSpec,
)
from evopipe.models.adapters._base import NetworkBlockedError
from evopipe.models.config import config_from_dict
from evopipe.models.fallback import FallbackModel
from evopipe.models.limits import RetryingModel
from evopipe.models.testing import FakeModel


def _openai_ok(text: str, usage: tuple[int, int]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


def _anthropic_ok(text: str, usage: tuple[int, int]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def _google_ok(text: str, usage: tuple[int, int]) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {
            "promptTokenCount": usage[0],
            "candidatesTokenCount": usage[1],
            "totalTokenCount": sum(usage),
        },
        "responseId": "resp-1",
    }


def _openai_err(status: int) -> dict[str, Any]:
    return {"error": {"message": f"mock {status}", "type": "error", "code": str(status)}}


def _anthropic_err(status: int) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "api_error", "message": f"mock {status}"}}


def _google_err(status: int) -> dict[str, Any]:
    return {"error": {"code": status, "message": f"mock {status}", "status": "UNAVAILABLE"}}


def _openai_schema(body: dict[str, Any]) -> Any:
    return body["response_format"]["json_schema"]["schema"]


def _anthropic_schema(body: dict[str, Any]) -> Any:
    return body["output_config"]["format"]["schema"]


def _google_schema(body: dict[str, Any]) -> Any:
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    return body["generationConfig"]["responseJsonSchema"]


@dataclass(frozen=True)
class Provider:
    model_id: str
    provider_id: str
    ok: Callable[[str, tuple[int, int]], dict[str, Any]]
    err: Callable[[int], dict[str, Any]]
    schema_in: Callable[[dict[str, Any]], Any]

    def reply(self, text: str, usage: tuple[int, int] = (10, 5)) -> httpx2.Response:
        return httpx2.Response(200, json=self.ok(text, usage))

    def error(self, status: int, headers: dict[str, str] | None = None) -> httpx2.Response:
        return httpx2.Response(status, json=self.err(status), headers=headers)


PROVIDERS = [
    Provider("openai:gpt-4o", "openai", _openai_ok, _openai_err, _openai_schema),
    Provider(
        "anthropic:claude-sonnet-4-6", "anthropic", _anthropic_ok, _anthropic_err, _anthropic_schema
    ),
    Provider("google:gemini-2.5-flash", "google", _google_ok, _google_err, _google_schema),
]
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp_c": {"type": "number"}},
    "required": ["city", "temp_c"],
}


@pytest.fixture(params=PROVIDERS, ids=lambda p: p.provider_id)
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param  # type: ignore[no-any-return]


def req(prompt: str, **kw: Any) -> ModelRequest:
    return ModelRequest(messages=(Message("system", "Be brief."), Message("user", prompt)), **kw)


async def test_plain_text_usage_and_cost(
    provider: Provider, server: MockServer, mock_hub: ModelHub
) -> None:
    server.queue(provider.reply("Hello there", (1000, 200)))
    response = await mock_hub.get(provider.model_id).complete(req("Hi", temperature=0.2))
    assert response.text == "Hello there"
    assert response.model == provider.model_id
    assert (response.usage.input_tokens, response.usage.output_tokens) == (1000, 200)
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1000, output_tokens=200),
        provider.model_id.split(":", 1)[1],
        provider_id=provider.provider_id,
    ).total_price
    assert response.cost_usd == pytest.approx(float(expected))
    assert response.cost_usd > 0
    sent = json.dumps(server.bodies()[0])
    assert "Be brief." in sent
    assert "Hi" in sent


async def test_json_schema_native_mode(
    provider: Provider, server: MockServer, mock_hub: ModelHub
) -> None:
    server.queue(provider.reply('{"city": "Oslo", "temp_c": -3.5}'))
    response = await mock_hub.get(provider.model_id).complete(req("w", output_schema=SCHEMA))
    assert response.data == {"city": "Oslo", "temp_c": -3.5}
    assert provider.schema_in(server.bodies()[0]) == SCHEMA


async def test_invalid_json_is_reasked_then_accepted(
    provider: Provider, server: MockServer, mock_hub: ModelHub
) -> None:
    server.queue(provider.reply('{"city": 3}', (10, 5)), provider.reply('{"city":"A","temp_c":1}'))
    response = await mock_hub.get(provider.model_id).complete(req("w", output_schema=SCHEMA))
    assert response.data == {"city": "A", "temp_c": 1}
    assert response.usage.input_tokens == 20
    assert "That reply is invalid" in json.dumps(server.bodies()[1])


async def test_429_then_success_honours_retry_after(
    provider: Provider, server: MockServer, mock_hub: ModelHub
) -> None:
    server.queue(provider.error(429, {"retry-after": "2"}), provider.reply("ok"))
    model = mock_hub.get(provider.model_id)
    with pytest.raises(RateLimitedError) as info:
        await model.complete(req("x"))
    assert info.value.retry_after_s == 2.0
    server.queue(provider.error(429, {"retry-after": "3"}), provider.reply("later"))
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    retrying = RetryingModel(model, attempts=3, sleep=fake_sleep)
    assert (await model.complete(req("x"))).text == "ok"
    assert (await retrying.complete(req("x"))).text == "later"
    assert slept == [3.0]


async def test_500_surfaces_as_server_error_then_fallback(
    provider: Provider, server: MockServer, mock_hub: ModelHub
) -> None:
    server.queue(provider.error(500), provider.error(503))
    model = mock_hub.get(provider.model_id)
    with pytest.raises(ServerError):
        await model.complete(req("x"))
    chain = FallbackModel([model, FakeModel()])
    response = await chain.complete(req("x"))
    assert response.model == "fake"
    assert chain.failures == [(provider.model_id, "ServerError")]


async def test_client_error_is_not_retryable(
    provider: Provider, server: MockServer, mock_hub: ModelHub
) -> None:
    server.queue(provider.error(400))
    with pytest.raises(ModelError) as info:
        await mock_hub.get(provider.model_id).complete(req("x"))
    assert type(info.value) is ModelError
    assert "400" in str(info.value)


async def test_transport_timeout_maps_to_model_timeout(
    provider: Provider, server: MockServer, mock_hub: ModelHub
) -> None:
    server.queue(httpx2.ReadTimeout("mock read timeout"))
    with pytest.raises(ModelTimeoutError):
        await mock_hub.get(provider.model_id).complete(req("x"))


async def test_request_timeout_is_enforced(provider: Provider) -> None:
    async def slow(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(5)
        return provider.reply("too late")

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(slow)) as client:
        hub = ModelHub(config_from_dict({}, env={}), http_client=client)
        with pytest.raises(ModelTimeoutError, match=r"within 0\.05s"):
            await hub.get(provider.model_id).complete(req("x", timeout_s=0.05))


def test_network_is_blocked_under_pytest(provider: Provider) -> None:
    hub = ModelHub(config_from_dict({}, env={"OPENAI_API_KEY": "k"}))
    with pytest.raises(NetworkBlockedError, match="blocked under pytest"):
        asyncio.run(hub.get(provider.model_id).complete(req("x")))


async def test_missing_key_is_a_clear_error() -> None:
    hub = ModelHub(config_from_dict({}, env={}), allow_network=True)
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        await hub.get("openai:gpt-4o").complete(req("x"))


async def test_openai_tool_calls(server: MockServer, mock_hub: ModelHub) -> None:
    body = _openai_ok("", (5, 5))
    body["choices"][0]["message"]["tool_calls"] = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"q": "x"}'},
        }
    ]
    body["choices"][0]["finish_reason"] = "tool_calls"
    server.queue(httpx2.Response(200, json=body))
    tool = ToolSpec("lookup", "Look it up", {"type": "object", "properties": {"q": {}}})
    response = await mock_hub.get("openai:gpt-4o").complete(req("x", tools=(tool,)))
    assert response.tool_calls[0].name == "lookup"
    assert response.tool_calls[0].arguments == {"q": "x"}
    assert server.bodies()[0]["tools"][0]["function"]["name"] == "lookup"


async def test_openai_compatible_endpoint(
    server: MockServer, http_client: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_from_dict(
        {
            "endpoints": {
                "ollama": {"base_url": "http://ollama.test/v1", "models": ["qwen3"]},
            }
        },
        env={},
    )
    hub = ModelHub(config, http_client=http_client)
    server.queue(_json(_openai_ok("hi", (3, 1))), _json(_openai_ok("again", (3, 1))))
    model = hub.get("ollama:qwen3")
    with caplog.at_level("WARNING", logger="evopipe.models.cost"):
        first = await model.complete(req("x"))
        second = await model.complete(req("y"))
    assert str(server.requests[0].url) == "http://ollama.test/v1/chat/completions"
    assert server.bodies()[0]["model"] == "qwen3"
    assert first.cost_usd is None
    assert second.cost_usd is None
    warnings = [r for r in caplog.records if "no price known" in r.getMessage()]
    assert len(warnings) == 1
    assert "ollama:qwen3" in warnings[0].getMessage()


async def test_price_override(server: MockServer, http_client: httpx2.AsyncClient) -> None:
    config = config_from_dict(
        {
            "endpoints": {"vllm": {"base_url": "http://vllm.test/v1"}},
            "prices": {"vllm:m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}},
        },
        env={},
    )
    server.queue(_json(_openai_ok("hi", (1_000_000, 500_000))))
    response = await ModelHub(config, http_client=http_client).get("vllm:m").complete(req("x"))
    assert response.cost_usd == pytest.approx(2.0)


def _json(body: dict[str, Any]) -> httpx2.Response:
    return httpx2.Response(200, json=body)


async def test_anthropic_tool_use(server: MockServer, mock_hub: ModelHub) -> None:
    body = _anthropic_ok("", (5, 5))
    body["content"] = [{"type": "tool_use", "id": "tu_1", "name": "lookup", "input": {"q": "x"}}]
    body["stop_reason"] = "tool_use"
    server.queue(httpx2.Response(200, json=body))
    tool = ToolSpec("lookup", "Look it up", {"type": "object", "properties": {"q": {}}})
    response = await mock_hub.get("anthropic:claude-sonnet-4-6").complete(req("x", tools=(tool,)))
    assert response.tool_calls[0].name == "lookup"
    assert response.tool_calls[0].arguments == {"q": "x"}
    assert response.finish_reason == "tool_use"
    sent = server.bodies()[0]
    assert sent["tools"][0]["input_schema"] == tool.parameters
    assert sent["system"] == "Be brief."


async def test_google_function_call(server: MockServer, mock_hub: ModelHub) -> None:
    body = _google_ok("", (5, 5))
    body["candidates"][0]["content"]["parts"] = [
        {"functionCall": {"name": "lookup", "args": {"q": "x"}}}
    ]
    server.queue(httpx2.Response(200, json=body))
    tool = ToolSpec("lookup", "Look it up", {"type": "object", "properties": {"q": {}}})
    response = await mock_hub.get("google:gemini-2.5-flash").complete(req("x", tools=(tool,)))
    assert response.tool_calls[0].name == "lookup"
    assert response.tool_calls[0].arguments == {"q": "x"}
    sent = server.bodies()[0]
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "lookup"
    assert sent["systemInstruction"]["parts"][0]["text"] == "Be brief."


async def test_endpoint_limits_apply_to_adapter_calls(http_client: httpx2.AsyncClient) -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return httpx2.Response(200, json=_openai_ok("ok", (1, 1)))

    config = config_from_dict(
        {"endpoints": {"vllm": {"base_url": "http://v/v1", "concurrency": 2}}}, env={}
    )
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as client:
        model = ModelHub(config, http_client=client).get("vllm:m")
        await asyncio.gather(*(model.complete(req(str(i))) for i in range(6)))
    assert peak == 2
