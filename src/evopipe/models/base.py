"""The LLM layer's contract: one small async ``Model`` protocol, its request and response.

Adapters (one module each) implement :class:`Model`; capabilities are flags on the model, never
``isinstance`` checks. Errors a caller may retry derive from :class:`RetryableModelError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from evopipe.spec.errors import EvopipeError

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation. Function calling adds two shapes: an ``assistant`` message
    carrying the ``tool_calls`` the model made, and a ``tool`` message carrying one call's
    result (``tool_call_id`` and ``name`` say which call)."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""

    def key_data(self) -> list[Any]:
        """Plain data for the cache key (plain messages keep their historical two-item form)."""
        if not (self.tool_calls or self.tool_call_id or self.name):
            return [self.role, self.content]
        calls = [[c.id, c.name, c.arguments] for c in self.tool_calls]
        return [self.role, self.content, calls, self.tool_call_id, self.name]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call (function calling)."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything a model call depends on; its canonical form is the response-cache key."""

    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    output_schema: dict[str, Any] | None = None
    tools: tuple[ToolSpec, ...] = ()
    timeout_s: float | None = None

    def cache_key_data(self) -> dict[str, Any]:
        """Plain data identifying the request (timeout excluded: it does not change answers)."""
        return {
            "messages": [m.key_data() for m in self.messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
            "output_schema": self.output_schema,
            "tools": [[t.name, t.description, t.parameters] for t in self.tools],
        }


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """A model's answer. ``data`` holds parsed JSON when an output schema was requested."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    data: Any = None
    finish_reason: str = "stop"
    latency_ms: float = 0.0
    request_id: str | None = None
    cost_usd: float | None = None
    cached: bool = False
    tool_calls: tuple[ToolCall, ...] = ()
    requests: int = 1
    """Requests sent to the provider for this answer (an adapter's re-asks included)."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a model can do natively; the caller adapts (e.g. prompt + validate for JSON)."""

    json_schema: bool = False
    tools: bool = False
    streaming: bool = False
    seed: bool = False
    local: bool = False
    network: bool = True


@runtime_checkable
class Model(Protocol):
    """An LLM behind one async call. ``id`` is ``provider:model``."""

    @property
    def id(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def complete(self, request: ModelRequest) -> ModelResponse: ...


class ModelWrapper:
    """Base of a model that wraps another: ``id`` and ``capabilities`` are the inner model's.

    A subclass adds ``complete`` (and whatever it does around the inner call)."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities


@runtime_checkable
class StreamingModel(Model, Protocol):
    """A model that can also stream text deltas (optional capability)."""

    def stream(self, request: ModelRequest) -> AsyncIterator[str]: ...


@dataclass(frozen=True, slots=True)
class Spent:
    """What a failed call consumed before failing: every request sent is usage."""

    usage: Usage = field(default_factory=Usage)
    requests: int = 0
    cost_usd: float | None = 0.0


class ModelError(EvopipeError):
    """A model call failed for a reason retrying will not fix (bad request, auth, unknown id).

    ``spent`` is set when requests were sent before the failure (re-asks, a 5xx after tokens).
    """

    spent: Spent | None = None


class UnknownModelError(ModelError):
    """No provider or configured endpoint matches the model id."""


class RetryableModelError(ModelError):
    """A model call failed in a way that may succeed on retry."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimitedError(RetryableModelError):
    """HTTP 429 or a provider's equivalent; ``retry_after_s`` from ``Retry-After``."""


class ServerError(RetryableModelError):
    """HTTP 5xx or a dropped connection."""


class ModelTimeoutError(RetryableModelError):
    """The call did not finish within its timeout."""


class InvalidOutputError(RetryableModelError):
    """The model's output did not parse or violated the requested schema."""

    def __init__(self, message: str, *, raw: str = "", errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.errors = errors or []
