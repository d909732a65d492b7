"""OpenAI adapter (``openai:MODEL``) — also every OpenAI-compatible server through a named
endpoint (Ollama, vLLM, llama.cpp server, LM Studio: ``[endpoints.NAME] base_url = ...``).

Structured output: ``response_format={"type": "json_schema", ...}`` (non-strict, so any schema
is accepted), then validated; tools map to function tools.
"""

from __future__ import annotations

import json
from typing import Any

import openai

from evopipe.models.adapters._base import (
    DEFAULT_MAX_TOKENS,
    RawReply,
    SDKAdapter,
    stainless_error,
)
from evopipe.models.base import (
    Message,
    ModelError,
    ModelRequest,
    ToolCall,
    Usage,
)
from evopipe.models.registry import ProviderContext

DEFAULT_KEY_ENV = "OPENAI_API_KEY"


class OpenAIModel(SDKAdapter):
    provider = "openai"

    def __init__(self, name: str, ctx: ProviderContext) -> None:
        super().__init__(name, ctx)
        self.provider = ctx.provider

    def _make_client(self) -> openai.AsyncOpenAI:
        endpoint = self.ctx.endpoint
        key_env = endpoint.api_key_env if endpoint else DEFAULT_KEY_ENV
        return openai.AsyncOpenAI(**self._stainless_client_args(key_env, "not-needed"))

    async def _call(self, request: ModelRequest, messages: list[Message], native: bool) -> RawReply:
        kwargs: dict[str, Any] = {
            "model": self.name,
            "messages": [_message(m) for m in messages],
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        }
        optional = {
            "temperature": request.temperature,
            "seed": request.seed,
            "stop": list(request.stop) or None,
            "timeout": request.timeout_s,
        }
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        if request.output_schema is not None and native:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": request.output_schema, "strict": False},
            }
        if request.tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        completion = await self.client().chat.completions.create(**kwargs)
        return _reply(completion)

    def _map_error(self, exc: Exception) -> ModelError | None:
        return stainless_error(self.id, exc, openai)


def _message(m: Message) -> dict[str, Any]:
    """One message in the chat-completions shape (function calls and results included)."""
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content}
    if m.role == "assistant" and m.tool_calls:
        return {
            "role": "assistant",
            "content": m.content or None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in m.tool_calls
            ],
        }
    return {"role": m.role, "content": m.content}


def _reply(completion: Any) -> RawReply:
    choice = completion.choices[0]
    usage = completion.usage
    calls = tuple(
        ToolCall(
            name=c.function.name,
            arguments=json.loads(c.function.arguments or "{}"),
            id=c.id or "",
        )
        for c in (choice.message.tool_calls or ())
        if getattr(c, "function", None) is not None
    )
    return RawReply(
        text=choice.message.content or "",
        usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else Usage(),
        finish_reason=choice.finish_reason or "stop",
        request_id=getattr(completion, "_request_id", None) or completion.id,
        tool_calls=calls,
    )


def build(name: str, ctx: ProviderContext) -> OpenAIModel:
    return OpenAIModel(name, ctx)
