"""The embedded SmolLM2 model, for real (offline): plain text and schema-constrained JSON."""

from __future__ import annotations

import asyncio

import jsonschema
import pytest

from evopipe.models import Message, ModelHub, ModelRequest
from evopipe.models.adapters.local import find_gguf, llama_available

pytestmark = pytest.mark.local_model

SCHEMA = {
    "type": "object",
    "properties": {
        "sentiment": {"enum": ["positive", "negative", "neutral"]},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 10},
        "sarcastic": {"type": "boolean"},
    },
    "required": ["sentiment", "confidence", "sarcastic"],
    "additionalProperties": False,
}
REVIEWS = [
    "I loved this film, the acting was wonderful.",
    "The food was cold and the waiter was rude.",
    "It was fine. Nothing special.",
    "Best purchase I have made all year!",
    "The battery died after two days.",
]


def test_model_file_and_runtime_are_installed() -> None:
    """Fails (not skips) when the embedded model cannot run: it is the default model."""
    assert find_gguf() is not None
    assert llama_available()


async def test_plain_prompt_returns_text() -> None:
    model = ModelHub().get("local:smollm2-135m")
    request = ModelRequest(
        messages=(Message("user", "Name one colour."),), max_tokens=16, temperature=0
    )
    response = await model.complete(request)
    assert response.text.strip()
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0
    assert response.cost_usd == 0.0


async def test_schema_constrained_json_valid_20_of_20() -> None:
    model = ModelHub().get("local:smollm2-135m")
    valid = 0
    for i in range(20):
        request = ModelRequest(
            messages=(
                Message("system", "Classify the review. Answer in JSON."),
                Message("user", REVIEWS[i % len(REVIEWS)]),
            ),
            output_schema=SCHEMA,
            max_tokens=48,
            temperature=0.8,
            seed=i,
        )
        response = await model.complete(request)
        jsonschema.validate(response.data, SCHEMA)
        valid += 1
    assert valid == 20


async def test_event_loop_is_not_blocked_during_a_call() -> None:
    model = ModelHub().get("local:smollm2-135m")
    request = ModelRequest(messages=(Message("user", "Count to five."),), max_tokens=24)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await model.runtime()  # load outside the measured window
    await model.complete(request)
    task.cancel()
    assert ticks > 3
