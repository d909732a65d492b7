"""Evaluation always runs behind the response cache, so unchanged steps cost nothing.

:func:`eval_services` returns the caller's services with a model source that hands out every
model wrapped with cache policy ``always``: through the hub's own cache (persistent when the
hub was given the store's cache) or, if the hub has none, a per-adapter in-memory cache.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from evopipe.engine import Services
from evopipe.models import CachedModel, InMemoryCache, Model, ResponseCacheBackend


class AlwaysCached:
    """A model source (``default_model_id``, ``get``) that caches every call."""

    def __init__(self, inner: Any, fallback: ResponseCacheBackend | None = None) -> None:
        self.inner = inner
        self.fallback = fallback or InMemoryCache()
        self._wrapped: dict[str, Model] = {}

    @property
    def default_model_id(self) -> str:
        return str(self.inner.default_model_id)

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Model:
        """The model behind the cache; ``cache_policy`` is ignored (evaluation always caches)."""
        mid = model_id or self.default_model_id
        if getattr(self.inner, "cache", None) is not None:
            model: Model = self.inner.get(mid, cache_policy="always")
            return model
        if mid not in self._wrapped:
            self._wrapped[mid] = CachedModel(self.inner.get(mid), self.fallback, "always")
        return self._wrapped[mid]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def eval_services(services: Services) -> Services:
    """``services`` with every model call cached (idempotent)."""
    if isinstance(services.models, AlwaysCached):
        return services
    return dataclasses.replace(services, models=AlwaysCached(services.models))
