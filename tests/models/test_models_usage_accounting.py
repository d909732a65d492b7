"""Every request sent to a provider is usage (issue 20, item 2): re-asks after a parse failure,
contract retries and step attempts all reach the run's usage, and budgets see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from models_mock_http import MockServer

from evopipe.engine import CollectingSubscriber, EventBus, RunOptions, Services
from evopipe.engine.journal import MemoryJournal
from evopipe.engine.runner import run_pipeline
from evopipe.models import InvalidOutputError, Message, ModelHub, ModelRequest
from evopipe.models.config import config_from_dict
from evopipe.spec.loader import loads

PIPELINE = """\
apiVersion: evopipe/v1
name: extractor
inputs:
  text: {type: string}
steps:
  - id: x
    kind: llm
    prompt: "Extract the label of {{ inputs.text }}"
    retry: {max_attempts: 3, backoff_s: 0}
    output:
      schema:
        type: object
        required: [label]
        properties: {label: {type: string}}
      on_invalid: retry
      max_retries: 2
"""


def _invalid_json(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "sure! here: {label"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        },
    )


def _hub(client: httpx2.AsyncClient) -> ModelHub:
    config = config_from_dict(
        {"endpoints": {"stub": {"base_url": "http://127.0.0.1:9/v1"}}}, env={}
    )
    return ModelHub(config, http_client=client)


async def _run(server: MockServer, tmp_path: Path, **options: Any) -> Any:
    server.queue(*[_invalid_json] * 100)
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(server.handler)) as client:
        services = Services(models=_hub(client), store=MemoryJournal(), base_dir=tmp_path)
        return await run_pipeline(
            loads(PIPELINE).pipeline,
            {"text": "an email"},
            services=services,
            options=RunOptions(model="stub:m", workspace=tmp_path / "ws", **options),
        )


async def test_adapter_reasks_are_carried_by_the_error(http_client: Any, server: MockServer):
    server.queue(_invalid_json, _invalid_json)
    hub = _hub(http_client)
    schema = {"type": "object", "properties": {"label": {"type": "string"}}}
    with pytest.raises(InvalidOutputError) as info:
        await hub.get("stub:m").complete(
            ModelRequest((Message("user", "hi"),), output_schema=schema)
        )
    spent = info.value.spent
    assert spent is not None
    assert spent.requests == len(server.requests) == 2
    assert (spent.usage.input_tokens, spent.usage.output_tokens) == (14, 6)


async def test_every_request_of_a_failing_step_is_usage(tmp_path: Path):
    server = MockServer()
    result = await _run(server, tmp_path)
    assert result.status == "failed"
    sent = len(server.requests)
    assert sent == 3 * 3 * 2  # attempts x contract tries x adapter re-asks
    assert result.usage.calls == sent
    assert result.usage.input_tokens == 7 * sent
    assert result.usage.output_tokens == 3 * sent


async def test_a_token_budget_stops_requests_that_fail_to_parse(tmp_path: Path):
    server = MockServer()
    result = await _run(server, tmp_path, max_tokens=10)
    assert (result.status, result.budget) == ("budget_exceeded", "max_tokens")
    sent = len(server.requests)
    assert sent == 2  # one call = a request and its adapter re-ask, 20 tokens: over budget
    assert result.usage.calls == sent


def _valid(request: httpx2.Request) -> httpx2.Response:
    response = _invalid_json(request)
    body = json.loads(response.content)
    body["choices"][0]["message"]["content"] = '{"label": "spam"}'
    return httpx2.Response(200, json=body)


async def test_an_unknown_price_stays_unknown(tmp_path: Path):
    server = MockServer()
    server.queue(_valid)
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(server.handler)) as client:
        events = CollectingSubscriber()
        services = Services(
            models=_hub(client), store=MemoryJournal(), bus=EventBus([events]), base_dir=tmp_path
        )
        result = await run_pipeline(
            loads(PIPELINE).pipeline,
            {"text": "an email"},
            services=services,
            options=RunOptions(model="stub:m", workspace=tmp_path / "ws"),
        )
    assert result.ok, result.error
    assert result.usage.cost_usd is None
    assert result.usage.to_json()["cost_usd"] is None
    assert result.step("x").cost_usd is None
    by_type = {e.type: e.data for e in events.events}
    assert by_type["model_call"]["cost_usd"] is None
    assert by_type["step_succeeded"]["cost_usd"] is None


async def test_a_usd_budget_on_a_model_without_a_price_refuses_to_run(tmp_path: Path):
    server = MockServer()
    result = await _run(server, tmp_path, max_cost_usd=0.01)
    assert (result.status, result.budget) == ("budget_exceeded", "max_cost_usd")
    assert "stub:m has no known price" in (result.error or "")
    assert server.requests == []  # refused before sending anything
