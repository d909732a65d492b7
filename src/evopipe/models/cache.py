"""Content-addressed response cache: a :class:`CachedModel` wrapper over a backend protocol.

The key is sha256 of (model identity + ``request.cache_key_data()``); the identity is the id plus
a content hash for models defined by a file (``scripted:``, ``replay:``). Policy ``auto`` caches
calls at temperature 0, ``always`` caches every call (evaluation), ``off`` never. A hit is returned
with ``cached=True`` and ``cost_usd=0.0``. The store provides a persistent backend with the same
protocol; :class:`InMemoryCache` is the in-process one.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Literal, Protocol, runtime_checkable

from evopipe.models.base import Model, ModelRequest, ModelResponse, ModelWrapper
from evopipe.models.codec import (
    model_identity,
    request_key,
    response_from_dict,
    response_to_dict,
)

CachePolicy = Literal["auto", "always", "off"]
CACHE_POLICIES: tuple[CachePolicy, ...] = ("auto", "always", "off")


@runtime_checkable
class ResponseCacheBackend(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class InMemoryCache:
    """A dict-backed cache (per instance; nothing process-global)."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._data.get(key)
        return dict(value) if value is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._data[key] = dict(value)

    def __len__(self) -> int:
        return len(self._data)


def should_cache(request: ModelRequest, policy: CachePolicy) -> bool:
    if policy == "always":
        return True
    if policy == "off":
        return False
    return request.temperature == 0


class CachedModel(ModelWrapper):
    """Serves repeated requests from ``backend``; only successful responses are stored."""

    def __init__(
        self, inner: Model, backend: ResponseCacheBackend, policy: CachePolicy = "auto"
    ) -> None:
        super().__init__(inner)
        self.backend = backend
        self.policy = policy
        self.hits = 0
        self.misses = 0

    def key(self, request: ModelRequest) -> str:
        return request_key(request, model_identity(self.inner))

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if not should_cache(request, self.policy):
            return await self.inner.complete(request)
        start = time.perf_counter()
        key = self.key(request)
        stored = self.backend.get(key)
        if stored is not None:
            self.hits += 1
            hit = response_from_dict(stored)
            latency = (time.perf_counter() - start) * 1000
            return replace(hit, cached=True, cost_usd=0.0, latency_ms=latency)
        self.misses += 1
        response = await self.inner.complete(request)
        self.backend.put(key, response_to_dict(replace(response, cached=False)))
        return response
