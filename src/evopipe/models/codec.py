"""Plain-data forms of requests and responses (response cache, replay files, ``--json``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from evopipe.models.base import ModelRequest, ModelResponse, ToolCall, Usage


def canonical_json(data: Any) -> str:
    """Stable JSON text: sorted keys, no whitespace, non-ASCII kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(request: ModelRequest, model_id: str | None = None) -> str:
    """sha256 of the canonical request (and model id, when given)."""
    payload: dict[str, Any] = {"request": request.cache_key_data()}
    if model_id is not None:
        payload["model"] = model_id
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def model_identity(model: Any) -> str:
    """What a cached answer is bound to: the model id plus, for models defined by a file
    (scripted, replay), a hash of that content — editing the file changes the identity."""
    fingerprint = getattr(model, "fingerprint", None)
    return f"{model.id}#{fingerprint}" if fingerprint else str(model.id)


def content_fingerprint(data: Any) -> str:
    """A short hash of plain data (a model's script or recordings)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def response_to_dict(response: ModelResponse) -> dict[str, Any]:
    return {
        "text": response.text,
        "model": response.model,
        "usage": {
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
        },
        "data": response.data,
        "finish_reason": response.finish_reason,
        "latency_ms": response.latency_ms,
        "request_id": response.request_id,
        "cost_usd": response.cost_usd,
        "cached": response.cached,
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments, "id": c.id} for c in response.tool_calls
        ],
    }


def response_from_dict(data: dict[str, Any]) -> ModelResponse:
    usage = data.get("usage") or {}
    return ModelResponse(
        text=str(data.get("text", "")),
        model=str(data.get("model", "")),
        usage=Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))),
        data=data.get("data"),
        finish_reason=str(data.get("finish_reason", "stop")),
        latency_ms=float(data.get("latency_ms", 0.0)),
        request_id=data.get("request_id"),
        cost_usd=data.get("cost_usd"),
        cached=bool(data.get("cached", False)),
        tool_calls=tuple(
            ToolCall(name=c["name"], arguments=dict(c.get("arguments") or {}), id=c.get("id", ""))
            for c in data.get("tool_calls") or ()
        ),
    )


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate for models without a tokenizer: whitespace words."""
    return len(text.split())


def request_tokens(request: ModelRequest) -> int:
    return sum(estimate_tokens(m.content) for m in request.messages)
