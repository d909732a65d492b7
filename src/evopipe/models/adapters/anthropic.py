"""Anthropic adapter (``anthropic:MODEL``) on the native SDK.

Structured output: ``output_config={"format": {"type": "json_schema", "schema": ...}}``, then
validated. System messages become the ``system`` parameter; tools map to Anthropic tools.
"""

from __future__ import annotations

from typing import Any

import anthropic

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

DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"


class AnthropicModel(SDKAdapter):
    provider = "anthropic"

    def _make_client(self) -> anthropic.AsyncAnthropic:
        endpoint = self.ctx.endpoint
        key_env = endpoint.api_key_env if endpoint and endpoint.api_key_env else DEFAULT_KEY_ENV
        return anthropic.AsyncAnthropic(**self._stainless_client_args(key_env, "test-key"))

    async def _call(self, request: ModelRequest, messages: list[Message], native: bool) -> RawReply:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        kwargs: dict[str, Any] = {
            "model": self.name,
            "messages": _messages(messages),
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            kwargs["system"] = system
        if request.stop:
            kwargs["stop_sequences"] = list(request.stop)
        if request.timeout_s is not None:
            kwargs["timeout"] = request.timeout_s
        if request.temperature is not None:
            kwargs["extra_body"] = {"temperature": request.temperature}
        if request.output_schema is not None and native:
            kwargs["output_config"] = {
                "format": {"type": "json_schema", "schema": request.output_schema}
            }
        if request.tools:
            kwargs["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        message = await self.client().messages.create(**kwargs)
        return _reply(message)

    def _map_error(self, exc: Exception) -> ModelError | None:
        return stainless_error(self.id, exc, anthropic)


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Messages API shape: tool calls become ``tool_use`` blocks; consecutive tool results
    go together in one user message of ``tool_result`` blocks."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            last = out[-1] if out else None
            if last and last["role"] == "user" and isinstance(last["content"], list):
                last["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif m.role == "assistant" and m.tool_calls:
            blocks: list[dict[str, Any]] = (
                [{"type": "text", "text": m.content}] if m.content else []
            )
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in m.tool_calls
            ]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def _reply(message: Any) -> RawReply:
    texts = [b.text for b in message.content if getattr(b, "type", "") == "text"]
    calls = tuple(
        ToolCall(name=b.name, arguments=dict(b.input or {}), id=b.id)
        for b in message.content
        if getattr(b, "type", "") == "tool_use"
    )
    usage = message.usage
    return RawReply(
        text="".join(texts),
        usage=Usage(usage.input_tokens, usage.output_tokens) if usage else Usage(),
        finish_reason=message.stop_reason or "stop",
        request_id=getattr(message, "_request_id", None) or message.id,
        tool_calls=calls,
    )


def build(name: str, ctx: ProviderContext) -> AnthropicModel:
    return AnthropicModel(name, ctx)
