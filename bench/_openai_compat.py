"""An OpenAI-compatible ``/v1/chat/completions`` endpoint on 127.0.0.1 for any evopipe model
(used by ``bench/compare_dspy.py`` to give DSPy the very model evopipe evolves with).

It serves in a thread of its own (uvicorn, one worker) and counts the calls it answered, so
the optimisers' calls are measured where they arrive, whatever the client library does.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from evopipe.models.base import Message, Model, ModelRequest


@dataclass
class Counter:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


def _request(body: dict[str, Any]) -> ModelRequest:
    messages = tuple(
        Message(m.get("role", "user"), _text(m.get("content"))) for m in body.get("messages", [])
    )
    stop = body.get("stop") or ()
    return ModelRequest(
        messages=messages,
        temperature=body.get("temperature"),
        max_tokens=body.get("max_tokens") or body.get("max_completion_tokens"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
    )


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def openai_app(model: Model, counter: Counter) -> FastAPI:
    api = FastAPI()
    lock = asyncio.Lock()  # one generation at a time, as the embedded model runs

    @api.post("/v1/chat/completions")
    async def complete(body: dict[str, Any]) -> dict[str, Any]:
        async with lock:
            response = await model.complete(_request(body))
        counter.calls += 1
        counter.input_tokens += response.usage.input_tokens
        counter.output_tokens += response.usage.output_tokens
        return {
            "id": f"chatcmpl-{counter.calls}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", model.id),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": response.text},
                    "finish_reason": response.finish_reason or "stop",
                }
            ],
            "usage": {
                "prompt_tokens": response.usage.input_tokens,
                "completion_tokens": response.usage.output_tokens,
                "total_tokens": response.usage.input_tokens + response.usage.output_tokens,
            },
        }

    return api


@contextmanager
def serving(model: Model) -> Iterator[tuple[str, Counter]]:
    """``(base_url, counter)`` while the endpoint serves ``model`` on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    counter = Counter()
    config = uvicorn.Config(
        openai_app(model, counter), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.025)
    try:
        yield f"http://127.0.0.1:{port}/v1", counter
    finally:
        server.should_exit = True
        thread.join(10)
