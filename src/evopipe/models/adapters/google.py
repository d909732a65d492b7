"""Google adapter (``google:MODEL``) on the google-genai SDK (Gemini API).

Structured output: ``response_mime_type="application/json"`` with ``response_json_schema``, then
validated. System messages become ``system_instruction``; tools map to function declarations
(automatic function calling off: the caller runs tools).
"""

from __future__ import annotations

from typing import Any

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from evopipe.models.adapters._base import DEFAULT_MAX_TOKENS, RawReply, SDKAdapter, http_error
from evopipe.models.base import (
    Message,
    ModelError,
    ModelRequest,
    ModelTimeoutError,
    ServerError,
    ToolCall,
    Usage,
)
from evopipe.models.registry import ProviderContext

KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


class GoogleModel(SDKAdapter):
    provider = "google"

    def _make_client(self) -> genai.Client:
        endpoint = self.ctx.endpoint
        envs = (endpoint.api_key_env,) if endpoint and endpoint.api_key_env else KEY_ENVS
        key = next((self.ctx.config.env[e] for e in envs if self.ctx.config.env.get(e)), None)
        if key is None and self.ctx.http_client is None:
            raise ModelError(f"{self.id}: no API key; set the environment variable {envs[0]}")
        options: dict[str, Any] = {}
        if endpoint and endpoint.base_url:
            options["base_url"] = endpoint.base_url
        if self.ctx.http_client is not None:
            options["httpx_async_client"] = self.ctx.http_client
        return genai.Client(api_key=key or "test-key", http_options=types.HttpOptions(**options))

    async def _call(self, request: ModelRequest, messages: list[Message], native: bool) -> RawReply:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        contents = [_content(m) for m in messages if m.role != "system"]
        config: dict[str, Any] = {
            "max_output_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "temperature": request.temperature,
            "seed": request.seed,
            "stop_sequences": list(request.stop) or None,
            "system_instruction": system or None,
        }
        if request.timeout_s is not None:
            config["http_options"] = types.HttpOptions(timeout=int(request.timeout_s * 1000))
        if request.output_schema is not None and native:
            config["response_mime_type"] = "application/json"
            config["response_json_schema"] = request.output_schema
        if request.tools:
            config["tools"] = [_tools(request)]
            config["automatic_function_calling"] = {"disable": True}
        response = await self.client().aio.models.generate_content(
            model=self.name,
            contents=contents,
            config=types.GenerateContentConfig(
                **{k: v for k, v in config.items() if v is not None}
            ),
        )
        return _reply(response)

    def _map_error(self, exc: Exception) -> ModelError | None:
        return map_google_error(self.id, exc)


def _content(m: Message) -> dict[str, Any]:
    """One ``Content``: function calls and function responses as their own parts."""
    if m.role == "tool":
        response = {"name": m.name, "response": {"result": m.content}}
        return {"role": "user", "parts": [{"function_response": response}]}
    parts: list[dict[str, Any]] = [{"text": m.content}] if m.content or not m.tool_calls else []
    parts += [{"function_call": {"name": c.name, "args": c.arguments}} for c in m.tool_calls]
    return {"role": "model" if m.role == "assistant" else "user", "parts": parts}


def _tools(request: ModelRequest) -> types.Tool:
    return types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name=t.name, description=t.description, parameters_json_schema=t.parameters
            )
            for t in request.tools
        ]
    )


def _reply(response: Any) -> RawReply:
    meta = response.usage_metadata
    usage = (
        Usage(meta.prompt_token_count or 0, meta.candidates_token_count or 0) if meta else Usage()
    )
    candidate = response.candidates[0] if response.candidates else None
    parts = (candidate.content.parts or []) if candidate and candidate.content else []
    text = "".join(p.text for p in parts if getattr(p, "text", None))
    calls = tuple(
        ToolCall(name=c.name or "", arguments=dict(c.args or {}), id=c.id or "")
        for c in (response.function_calls or ())
    )
    finish = candidate.finish_reason if candidate else None
    return RawReply(
        text=text,
        usage=usage,
        finish_reason=str(finish.value).lower() if finish is not None else "stop",
        request_id=response.response_id,
        tool_calls=calls,
    )


def map_google_error(model_id: str, exc: Exception) -> ModelError | None:
    if isinstance(exc, genai_errors.APIError):
        headers = getattr(exc.response, "headers", None)
        return http_error(model_id, exc.code, str(exc.message or exc.status), headers)
    if isinstance(exc, httpx2.TimeoutException):
        return ModelTimeoutError(f"{model_id}: request timed out")
    if isinstance(exc, httpx2.TransportError):
        return ServerError(f"{model_id}: connection failed: {exc}")
    return None


def build(name: str, ctx: ProviderContext) -> GoogleModel:
    return GoogleModel(name, ctx)
