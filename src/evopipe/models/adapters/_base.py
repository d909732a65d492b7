"""What every SDK adapter shares: network guard, limits, timeout, structured output loop, cost.

A subclass implements ``_call(request, messages, schema_mode)`` (one SDK call → :class:`RawReply`)
and ``_map_error(exc)`` (SDK exception → our error classes, or ``None`` to re-raise).
Structured output uses the provider's native JSON-Schema mode when the adapter has one
(``native_schema``), else a schema instruction in the prompt; either way the reply is parsed and
validated, and an invalid reply is re-asked (``reasks`` times) with the validation errors.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from evopipe.models.base import (
    Capabilities,
    InvalidOutputError,
    Message,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelTimeoutError,
    Spent,
    ToolCall,
    Usage,
)
from evopipe.models.limits import Limiter
from evopipe.models.registry import ProviderContext

DEFAULT_MAX_TOKENS = 1024


_SECRET_ENV_NAME = re.compile(r"API_?KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)


def scrub_secrets(text: str, env: Mapping[str, str]) -> str:
    """``text`` with the value of every secret-looking variable of ``env`` (8+ characters)
    replaced by ``[REDACTED]``."""
    for name, value in env.items():
        if len(value) >= 8 and value in text and _SECRET_ENV_NAME.search(name):
            text = text.replace(value, "[REDACTED]")
    return text


class NetworkBlockedError(ModelError):
    """A real network model request under pytest without an explicit allowance."""


@dataclass(frozen=True, slots=True)
class RawReply:
    text: str
    usage: Usage
    finish_reason: str = "stop"
    request_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    model_ref: str | None = None


@dataclass(slots=True)
class _Outcome:
    reply: RawReply
    data: Any = None
    usage: Usage = field(default_factory=Usage)
    requests: int = 0


@dataclass(slots=True)
class _Tally:
    """Requests sent so far for one ``complete`` (a failure reports them as spent)."""

    usage: Usage = field(default_factory=Usage)
    requests: int = 0


def schema_instruction(schema: dict[str, Any]) -> str:
    return (
        "Reply with only a JSON value (no prose, no code fences) valid against this JSON "
        f"Schema:\n{json.dumps(schema, sort_keys=True)}"
    )


def parse_json_reply(text: str, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    """Parse ``text`` (tolerating a ```json fence) and validate it; return (data, errors)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON: {exc}"]
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(data)
    ]
    return data, errors[:10]


class SDKAdapter(ABC):
    provider: str = ""
    native_schema: bool = True
    reasks: int = 1

    def __init__(self, name: str, ctx: ProviderContext) -> None:
        if not name:
            raise ModelError(f"model id {ctx.provider}: needs a model name ({ctx.provider}:NAME)")
        self.name = name
        self.ctx = ctx
        self._id = f"{ctx.provider}:{name}"
        self.limiter = ctx.limiter or Limiter()
        self._client: Any = None

    @property
    def id(self) -> str:
        return self._id

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(json_schema=self.native_schema, tools=True, seed=False)

    def _ensure_allowed(self) -> None:
        if self.ctx.http_client is None and not self.ctx.allow_network:
            raise NetworkBlockedError(
                f"{self._id}: real network model requests are blocked under pytest; inject an "
                "http_client (mock transport) or construct ModelHub(allow_network=True)"
            )

    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    @abstractmethod
    def _make_client(self) -> Any: ...

    @abstractmethod
    async def _call(self, request: ModelRequest, messages: list[Message], native: bool) -> RawReply:
        """One SDK call; SDK exceptions propagate (mapped by :meth:`_map_error`)."""

    @abstractmethod
    def _map_error(self, exc: Exception) -> ModelError | None: ...

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self._ensure_allowed()
        start = time.perf_counter()
        tally = _Tally()
        try:
            async with self.limiter, asyncio.timeout(request.timeout_s):
                outcome = await self._complete_checked(request, tally)
        except TimeoutError as exc:
            error = ModelTimeoutError(f"{self._id}: no answer within {request.timeout_s}s")
            error.spent = self._spent(tally)
            raise error from exc
        except ModelError as exc:
            exc.spent = self._spent(tally)
            raise
        reply = outcome.reply
        return ModelResponse(
            text=reply.text,
            model=self._id,
            usage=outcome.usage,
            data=outcome.data,
            finish_reason=reply.finish_reason,
            latency_ms=(time.perf_counter() - start) * 1000,
            request_id=reply.request_id,
            cost_usd=self.ctx.prices.cost(
                self._id, outcome.usage, provider=self.provider, model_ref=self.name
            ),
            tool_calls=reply.tool_calls,
            requests=outcome.requests,
        )

    def _spent(self, tally: _Tally) -> Spent | None:
        if not tally.requests:
            return None
        cost = self.ctx.prices.cost(
            self._id, tally.usage, provider=self.provider, model_ref=self.name
        )
        return Spent(tally.usage, tally.requests, cost)

    async def _checked_call(
        self, request: ModelRequest, messages: list[Message], native: bool
    ) -> RawReply:
        try:
            return await self._call(request, messages, native)
        except ModelError:
            raise
        except Exception as exc:
            mapped = self._map_error(exc)
            if mapped is None:
                raise
            # providers echo keys in errors ("Incorrect API key provided: sk-..."): mask them,
            # and do not chain the SDK exception, whose text still holds the key
            mapped.args = (scrub_secrets(str(mapped), self.ctx.config.env),)
            raise mapped from None

    async def _complete_checked(self, request: ModelRequest, tally: _Tally) -> _Outcome:
        schema = request.output_schema
        messages = list(request.messages)
        native = self.native_schema
        if schema is not None and not native:
            messages.insert(0, Message("system", schema_instruction(schema)))
        for attempt in range(self.reasks + 1):
            tally.requests += 1  # sent, whatever comes back
            reply = await self._checked_call(request, messages, native)
            tally.usage = tally.usage + reply.usage
            if schema is None or reply.tool_calls:
                return _Outcome(reply, None, tally.usage, tally.requests)
            data, errors = parse_json_reply(reply.text, schema)
            if not errors:
                return _Outcome(reply, data, tally.usage, tally.requests)
            if attempt == self.reasks:
                raise InvalidOutputError(
                    f"{self._id}: output does not match the schema: {'; '.join(errors)}",
                    raw=reply.text,
                    errors=errors,
                )
            messages += [
                Message("assistant", reply.text),
                Message(
                    "user",
                    "That reply is invalid: "
                    + "; ".join(errors)
                    + ". "
                    + schema_instruction(schema),
                ),
            ]
        raise AssertionError("unreachable")  # pragma: no cover
