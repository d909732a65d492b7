"""Evaluation always runs behind the response cache, so unchanged steps cost nothing — and it
meters what the cache saved, so a candidate's cost objective stays its intrinsic cost.

:func:`eval_services` returns the caller's services with a model source that hands out every
model behind the response cache with policy ``always``: the hub's own cache backend (persistent
when the hub was given the store's cache) or, if the hub has none, an in-memory one. While a
:class:`Meter` is active (a context variable set around each example's run), the wrapper counts
calls that reached a model, cache hits, and the original cost of the responses it replayed.
"""

from __future__ import annotations

import dataclasses
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from evopipe.engine import Services
from evopipe.models import (
    InMemoryCache,
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelWrapper,
    ResponseCacheBackend,
)
from evopipe.models.codec import (
    model_identity,
    request_key,
    response_from_dict,
    response_to_dict,
)


@dataclass
class Meter:
    """Model traffic of one pipeline run, as seen through the evaluation cache."""

    calls: int = 0
    """Requests that reached a model (paid, or failed; adapter re-asks included), i.e. not
    served from the cache."""
    hits: int = 0
    paid_usd: float = 0.0
    saved_usd: float = 0.0
    """What the responses served from the cache cost when they were first made."""
    unpriced: int = 0
    """Responses (paid or replayed) without a known price: the cost is then unknown."""


METER: ContextVar[Meter | None] = ContextVar("evopipe_evaluate_meter", default=None)


class EvalCachedModel(ModelWrapper):
    """A model behind a cache backend with policy ``always``, reporting to the active meter."""

    def __init__(self, inner: Model, backend: ResponseCacheBackend) -> None:
        super().__init__(inner)
        self.backend = backend

    async def complete(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()
        key = request_key(request, model_identity(self.inner))
        stored = self.backend.get(key)
        meter = METER.get()
        if stored is not None:
            hit = response_from_dict(stored)
            if meter is not None:
                meter.hits += 1
                meter.saved_usd += hit.cost_usd or 0.0
                meter.unpriced += hit.cost_usd is None
            latency = (time.perf_counter() - start) * 1000
            return dataclasses.replace(hit, cached=True, cost_usd=0.0, latency_ms=latency)
        try:
            response = await self.inner.complete(request)
        except ModelError as exc:  # requests sent before the failure still count
            if meter is not None:
                spent = exc.spent
                meter.calls += max(1, spent.requests) if spent is not None else 1
                meter.paid_usd += (spent.cost_usd or 0.0) if spent is not None else 0.0
                meter.unpriced += spent is not None and spent.cost_usd is None
            raise
        if meter is not None:
            meter.calls += max(1, response.requests)
            meter.paid_usd += response.cost_usd or 0.0
            meter.unpriced += response.cost_usd is None
        self.backend.put(key, response_to_dict(dataclasses.replace(response, cached=False)))
        return response


class AlwaysCached:
    """A model source (``default_model_id``, ``get``) that caches and meters every call."""

    def __init__(self, inner: Any, fallback: ResponseCacheBackend | None = None) -> None:
        self.inner = inner
        backend = getattr(inner, "cache", None)
        self.backend: ResponseCacheBackend = (
            backend if backend is not None else (fallback or InMemoryCache())
        )
        self._wrapped: dict[str, Model] = {}

    @property
    def default_model_id(self) -> str:
        return str(self.inner.default_model_id)

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Model:
        """The model behind the cache; ``cache_policy`` is ignored (evaluation always caches)."""
        mid = model_id or self.default_model_id
        if mid not in self._wrapped:
            try:
                raw: Model = self.inner.get(mid, cache_policy="off")
            except TypeError:  # a model source without cache policies
                raw = self.inner.get(mid)
            self._wrapped[mid] = EvalCachedModel(raw, self.backend)
        return self._wrapped[mid]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def eval_services(services: Services) -> Services:
    """``services`` with every model call cached and metered (idempotent)."""
    if isinstance(services.models, AlwaysCached):
        return services
    return dataclasses.replace(services, models=AlwaysCached(services.models))
