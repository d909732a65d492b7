"""Test doubles that ship with the library, each reachable by model id through the hub.

* :class:`FakeModel` (``fake``) — schema-aware: valid JSON for any output schema; otherwise
  deterministic text derived from a hash of the prompt.
* :class:`ScriptedModel` (``scripted:PATH``) — a queue of responses and/or regex → response rules.
* :class:`ReplayModel` (``replay:PATH``) — recorded request → response pairs; write them with
  :class:`RecordingModel`.
* :class:`SimModel` (``sim:latency_ms=200,jitter_ms=50,fail_rate=0.1,seed=1``) — latency and
  seeded faults (429, 500, timeout, malformed JSON); otherwise behaves like ``fake``.
* :class:`FunctionModel` — any Python callable, sync or async.

Test models cost 0.0 and count tokens by whitespace words.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from evopipe.models.base import (
    Capabilities,
    InvalidOutputError,
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelTimeoutError,
    ModelWrapper,
    RateLimitedError,
    ServerError,
    Spent,
    ToolCall,
    Usage,
)
from evopipe.models.codec import (
    canonical_json,
    content_fingerprint,
    estimate_tokens,
    request_key,
    request_tokens,
    response_from_dict,
    response_to_dict,
)
from evopipe.models.schemafake import _WORDS, example_for

TEST_CAPABILITIES = Capabilities(json_schema=True, tools=True, seed=True, network=False)


class _TestModel:
    """What the test models share: the id they were given and :data:`TEST_CAPABILITIES`
    (unless a subclass sets ``_capabilities``)."""

    _id: str
    _capabilities: Capabilities = TEST_CAPABILITIES

    @property
    def id(self) -> str:
        return self._id

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities


def prompt_digest(request: ModelRequest) -> str:
    return hashlib.sha256(canonical_json(request.cache_key_data()).encode()).hexdigest()


def _respond(model_id: str, request: ModelRequest, text: str, data: Any = None) -> ModelResponse:
    return ModelResponse(
        text=text,
        model=model_id,
        usage=Usage(request_tokens(request), estimate_tokens(text)),
        data=data,
        cost_usd=0.0,
    )


def _spent(request: ModelRequest, raw: str) -> Spent:
    """A simulated request that was answered (unusably): usage all the same."""
    return Spent(Usage(request_tokens(request), estimate_tokens(raw)), 1, 0.0)


def _json_response(model_id: str, request: ModelRequest, data: Any) -> ModelResponse:
    return _respond(model_id, request, json.dumps(data, ensure_ascii=False), data)


class FakeModel(_TestModel):
    """Deterministic, schema-aware fake: the same request always gives the same answer."""

    def __init__(self, model_id: str = "fake") -> None:
        self._id = model_id
        self.calls: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls.append(request)
        return self.answer(request)

    def answer(self, request: ModelRequest) -> ModelResponse:
        digest = prompt_digest(request)
        seed = int(digest[:12], 16)
        if request.tools and not any(m.role == "tool" for m in request.messages):
            # function calling: one call of a tool (chosen by the prompt's hash) with arguments
            # valid against its parameter schema; after a tool result, a plain answer
            tool = request.tools[seed % len(request.tools)]
            call = ToolCall(tool.name, example_for(tool.parameters, seed), f"call_{digest[:8]}")
            return ModelResponse(
                text="",
                model=self._id,
                usage=Usage(request_tokens(request), 1),
                finish_reason="tool_calls",
                cost_usd=0.0,
                tool_calls=(call,),
            )
        if request.output_schema is not None:
            return _json_response(self._id, request, example_for(request.output_schema, seed))
        rng = random.Random(seed)
        words = " ".join(rng.choice(_WORDS) for _ in range(6))
        text = f"fake-{digest[:8]}: {words}"
        if request.max_tokens is not None:
            text = " ".join(text.split()[: max(1, request.max_tokens)])
        return _respond(self._id, request, text)


def error_from_marker(marker: Any) -> Exception | None:
    """``{"error": "429" | "500" | "timeout" | "malformed" | other, "retry_after": s}``."""
    if not (isinstance(marker, Mapping) and set(marker) <= {"error", "retry_after", "message"}):
        return None
    if "error" not in marker:
        return None
    kind = str(marker["error"])
    message = str(marker.get("message") or f"scripted error {kind}")
    retry_after = marker.get("retry_after")
    factories: dict[str, Callable[[], Exception]] = {
        "429": lambda: RateLimitedError(
            message, retry_after_s=None if retry_after is None else float(retry_after)
        ),
        "timeout": lambda: ModelTimeoutError(message),
        "malformed": lambda: InvalidOutputError(message, raw="{not json"),
    }
    if kind in factories:
        return factories[kind]()
    if kind.isdigit() and kind.startswith("5"):
        return ServerError(message)
    return ModelError(message)


def tool_calls_from_marker(marker: Any, seq: int = 0) -> tuple[ToolCall, ...] | None:
    """``{"tool_calls": [{"name": ..., "arguments": {...}, "id": ...}], "text": ...}`` → calls.

    ``id`` is optional (``call_<seq>_1``, ``call_<seq>_2`` ... by response number and position).
    """
    if not (isinstance(marker, Mapping) and "tool_calls" in marker):
        return None
    if not set(marker) <= {"tool_calls", "text"} or not isinstance(marker["tool_calls"], list):
        raise ModelError(f"bad scripted tool call {marker!r:.120}")
    calls = []
    for i, item in enumerate(marker["tool_calls"], 1):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ModelError(f"scripted tool call #{i} needs a 'name': {item!r:.120}")
        args = item.get("arguments") or {}
        if not isinstance(args, Mapping):
            raise ModelError(f"scripted tool call #{i}: 'arguments' must be a mapping")
        call_id = str(item.get("id") or f"call_{seq}_{i}")
        calls.append(ToolCall(item["name"], dict(args), call_id))
    return tuple(calls)


def _scripted_response(
    model_id: str, request: ModelRequest, value: Any, seq: int = 0
) -> ModelResponse:
    error = error_from_marker(value)
    if error is not None:
        raise error
    calls = tool_calls_from_marker(value, seq)
    if calls is not None:
        text = str(value.get("text") or "")
        return ModelResponse(
            text=text,
            model=model_id,
            usage=Usage(request_tokens(request), estimate_tokens(text) + len(calls)),
            finish_reason="tool_calls",
            cost_usd=0.0,
            tool_calls=calls,
        )
    if isinstance(value, str):
        if request.output_schema is not None:
            try:
                return _json_response(model_id, request, json.loads(value))
            except json.JSONDecodeError as exc:
                error = InvalidOutputError(
                    "scripted response is not JSON", raw=value, errors=[str(exc)]
                )
                error.spent = _spent(request, value)
                raise error from exc
        return _respond(model_id, request, value)
    return _json_response(model_id, request, value)


class ScriptedModel(_TestModel):
    """Answers from a queue (in order) or from regex rules matched against the prompt.

    Rules are tried first (``re.search`` over the messages joined by newlines, in insertion
    order); then the queue. A response is a string, a JSON value, an error marker such as
    ``{"error": "429", "retry_after": 1}``, ``{"error": "500"}``, ``{"error": "timeout"}``, or
    function calls: ``{"tool_calls": [{"name": "read", "arguments": {"path": "a.py"}}]}``.
    """

    def __init__(
        self,
        responses: Sequence[Any] = (),
        rules: Mapping[str, Any] | None = None,
        *,
        model_id: str = "scripted",
        fallback: Any = None,
    ) -> None:
        self._id = model_id
        self._queue: deque[Any] = deque(responses)
        self._rules = [(re.compile(p, re.DOTALL), v) for p, v in (rules or {}).items()]
        self._fallback = fallback
        self.calls: list[ModelRequest] = []
        self.fingerprint = content_fingerprint(
            {"responses": list(responses), "rules": dict(rules or {}), "fallback": fallback}
        )
        """Hash of the script: part of the response-cache key (an edited script misses)."""

    @classmethod
    def from_file(cls, path: str | Path, *, model_id: str | None = None) -> ScriptedModel:
        """YAML or JSON: a list (the queue) or ``{responses: [...], rules: {...}, fallback}``."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ModelError(f"cannot read scripted model file {path}: {exc}") from exc
        mid = model_id or f"scripted:{path}"
        if isinstance(data, list):
            return cls(data, model_id=mid)
        if not isinstance(data, dict):
            raise ModelError(f"{path}: expected a list or a mapping with 'responses'/'rules'")
        return cls(
            data.get("responses") or [],
            data.get("rules") or {},
            model_id=mid,
            fallback=data.get("fallback"),
        )

    @property
    def remaining(self) -> int:
        return len(self._queue)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls.append(request)
        prompt = "\n".join(m.content for m in request.messages)
        seq = len(self.calls)
        for pattern, value in self._rules:
            if pattern.search(prompt):
                return _scripted_response(self._id, request, value, seq)
        if self._queue:
            return _scripted_response(self._id, request, self._queue.popleft(), seq)
        if self._fallback is not None:
            return _scripted_response(self._id, request, self._fallback, seq)
        raise ModelError(
            f"{self._id}: script exhausted after {len(self.calls) - 1} call(s); "
            f"no rule matched prompt {prompt[:80]!r}"
        )


class ReplayModel(_TestModel):
    """Answers recorded requests (JSON lines written by :class:`RecordingModel`)."""

    def __init__(self, records: Mapping[str, dict[str, Any]], *, model_id: str = "replay") -> None:
        self._id = model_id
        self._records = dict(records)
        self.fingerprint = content_fingerprint(self._records)

    @classmethod
    def from_file(cls, path: str | Path, *, model_id: str | None = None) -> ReplayModel:
        path = Path(path)
        records: dict[str, dict[str, Any]] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ModelError(f"cannot read replay file {path}: {exc}") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                records[entry["key"]] = entry["response"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ModelError(f"{path}:{number}: bad replay record: {exc}") from exc
        return cls(records, model_id=model_id or f"replay:{path}")

    async def complete(self, request: ModelRequest) -> ModelResponse:
        key = request_key(request)
        if key not in self._records:
            raise ModelError(f"{self._id}: no recorded response for request {key[:12]}")
        return response_from_dict(self._records[key])


class RecordingModel(ModelWrapper):
    """Wraps a model and appends each request → response pair to a replay file (JSON lines)."""

    def __init__(self, inner: Model, path: str | Path) -> None:
        super().__init__(inner)
        self.path = Path(path)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.complete(request)
        entry = {
            "key": request_key(request),
            "request": request.cache_key_data(),
            "response": response_to_dict(response),
        }
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(canonical_json(entry) + "\n")
        return response


_FAULTS = ("429", "500", "timeout", "malformed")


class SimModel(_TestModel):
    """A fake with latency (``asyncio.sleep``) and seeded fault injection.

    With probability ``fail_rate`` a call fails with one of: 429 (``retry_after_s`` set),
    500, timeout, or malformed JSON (:class:`InvalidOutputError` carrying the raw text).
    """

    def __init__(
        self,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        fail_rate: float = 0.0,
        seed: int = 0,
        *,
        retry_after_s: float = 0.05,
        model_id: str | None = None,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ModelError(f"sim: fail_rate must be within [0, 1], got {fail_rate}")
        self.latency_ms, self.jitter_ms, self.fail_rate = latency_ms, jitter_ms, fail_rate
        self.retry_after_s = retry_after_s
        self._rng = random.Random(seed)
        self._fake = FakeModel()
        self._id = model_id or (
            f"sim:latency_ms={latency_ms:g},jitter_ms={jitter_ms:g},"
            f"fail_rate={fail_rate:g},seed={seed}"
        )
        self.calls = 0
        self.faults: list[str] = []

    @classmethod
    def from_params(cls, params: str) -> SimModel:
        """Parse ``latency_ms=200,jitter_ms=50,fail_rate=0.1,seed=1`` (all optional)."""
        allowed = {"latency_ms": float, "jitter_ms": float, "fail_rate": float, "seed": int}
        kwargs: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in params.split(","))):
            name, sep, value = part.partition("=")
            if not sep or name not in allowed:
                raise ModelError(
                    f"sim: bad parameter {part!r}; expected name=value with name in "
                    f"{', '.join(allowed)}"
                )
            try:
                kwargs[name] = allowed[name](value)
            except ValueError as exc:
                raise ModelError(f"sim: bad value for {name}: {value!r}") from exc
        return cls(**kwargs, model_id=f"sim:{params}" if params else "sim")

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        delay = self.latency_ms + self.jitter_ms * (2 * self._rng.random() - 1)
        fault = self._rng.choice(_FAULTS) if self._rng.random() < self.fail_rate else None
        start = time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        if fault is not None:
            self.faults.append(fault)
            error = self._fault(fault)
            if isinstance(error, InvalidOutputError):
                error.spent = _spent(request, error.raw)
            raise error
        answer = self._fake.answer(request)
        return ModelResponse(
            text=answer.text,
            model=self._id,
            usage=answer.usage,
            data=answer.data,
            latency_ms=(time.perf_counter() - start) * 1000,
            cost_usd=0.0,
        )

    def _fault(self, fault: str) -> Exception:
        if fault == "429":
            return RateLimitedError("sim: rate limited (429)", retry_after_s=self.retry_after_s)
        if fault == "500":
            return ServerError("sim: server error (500)")
        if fault == "timeout":
            return ModelTimeoutError("sim: timed out")
        return InvalidOutputError("sim: malformed JSON", raw='{"answer": ', errors=["truncated"])


FunctionResult = ModelResponse | str | dict[str, Any] | list[Any]
ModelFunction = Callable[[ModelRequest], FunctionResult | Awaitable[FunctionResult]]


class FunctionModel(_TestModel):
    """Delegates to ``fn(request)`` (sync or async) returning a response, text or JSON value."""

    def __init__(
        self,
        fn: ModelFunction,
        *,
        model_id: str = "function",
        capabilities: Capabilities = TEST_CAPABILITIES,
    ) -> None:
        self._fn = fn
        self._id = model_id
        self._capabilities = capabilities
        self.calls: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls.append(request)
        result = self._fn(request)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, ModelResponse):
            return result
        return _scripted_response(self._id, request, result, len(self.calls))
