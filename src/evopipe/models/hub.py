"""The model hub: resolves ``provider:model`` ids to :class:`Model` instances.

``ModelHub(config=None, *, cache=None)``; ``hub.get(id)`` builds a model once through the provider
table and returns the same instance afterwards (wrapped in the response cache when the hub has one);
``hub.add(model)`` injects an instance (tests). Named endpoints from the config (``ollama:qwen3``)
resolve through the adapter they name (OpenAI-compatible by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from evopipe.models.base import Model, UnknownModelError
from evopipe.models.cache import CachedModel, CachePolicy, ResponseCacheBackend
from evopipe.models.config import FALLBACK_DEFAULT_MODEL, ModelsConfig
from evopipe.models.cost import PriceBook
from evopipe.models.limits import Limiter
from evopipe.models.registry import (
    BUILTIN_PROVIDERS,
    ProviderContext,
    ProviderFactory,
    split_model_id,
)


class ModelHub:
    def __init__(
        self,
        config: ModelsConfig | None = None,
        *,
        cache: ResponseCacheBackend | None = None,
        cache_policy: CachePolicy = "auto",
        http_client: Any = None,
        allow_network: bool | None = None,
        providers: Mapping[str, ProviderFactory] | None = None,
    ) -> None:
        """``allow_network``: None = allowed except under pytest; an ``http_client`` is used by
        every network adapter (tests inject a mock transport)."""
        self.config = config if config is not None else ModelsConfig()
        self.cache = cache
        self.cache_policy: CachePolicy = cache_policy
        self.http_client = http_client
        self.allow_network = allow_network
        self.prices = PriceBook(self.config.prices)
        self._providers: dict[str, ProviderFactory] = dict(BUILTIN_PROVIDERS)
        self._providers.update(providers or {})
        self._models: dict[str, Model] = {}
        self._wrapped: dict[tuple[str, CachePolicy], Model] = {}
        self._limiters: dict[str, Limiter] = {}

    @property
    def default_model_id(self) -> str:
        return self.config.default_model or FALLBACK_DEFAULT_MODEL

    @property
    def providers(self) -> list[str]:
        """Known provider and endpoint names, sorted."""
        return sorted({*self._providers, *self.config.endpoints})

    def register_provider(self, name: str, factory: ProviderFactory) -> None:
        self._providers[name] = factory

    def add(self, model: Model, model_id: str | None = None) -> None:
        """Use ``model`` for ``model_id`` (default: ``model.id``) from now on."""
        mid = model_id or model.id
        self._models[mid] = model
        for key in [k for k in self._wrapped if k[0] == mid]:
            del self._wrapped[key]

    def get(self, model_id: str | None = None, *, cache_policy: CachePolicy | None = None) -> Model:
        """The model for ``model_id`` (default: :attr:`default_model_id`).

        Raises :class:`UnknownModelError` naming the known providers.
        """
        mid = (model_id or self.default_model_id).strip()
        model = self._models.get(mid)
        if model is None:
            model = self._build(mid)
            self._models[mid] = model
        policy = cache_policy or self.cache_policy
        if self.cache is None or policy == "off":
            return model
        key = (mid, policy)
        if key not in self._wrapped:
            self._wrapped[key] = CachedModel(model, self.cache, policy)
        return self._wrapped[key]

    def price_known(self, model_id: str | None = None) -> bool:
        """Whether calls to ``model_id`` have a known price (models off the network — local
        and test models — are free)."""
        mid = (model_id or self.default_model_id).strip()
        if not self.get(mid, cache_policy="off").capabilities.network:
            return True
        provider, name = split_model_id(mid)
        return self.prices.known(mid, provider=provider, model_ref=name)

    def _build(self, model_id: str) -> Model:
        provider, name = split_model_id(model_id)
        endpoint = self.config.endpoints.get(provider)
        factory = self._providers.get(self._adapter_name(provider))
        if factory is None or not provider:
            raise UnknownModelError(
                f"unknown model {model_id!r}: no provider or endpoint named {provider!r}; "
                f"known: {', '.join(self.providers)} (ids look like provider:model)"
            )
        ctx = ProviderContext(
            provider=provider,
            config=self.config,
            prices=self.prices,
            endpoint=endpoint,
            http_client=self.http_client,
            allow_network=self._network_allowed(),
            limiter=self.limiter(provider),
        )
        return factory(name, ctx)

    def _adapter_name(self, provider: str) -> str:
        endpoint = self.config.endpoints.get(provider)
        if endpoint is None:
            return provider
        if endpoint.adapter:
            return endpoint.adapter
        return provider if provider in self._providers else "openai"

    def limiter(self, provider: str) -> Limiter:
        """The one limiter shared by every model of ``provider`` (an endpoint or provider name)."""
        if provider not in self._limiters:
            endpoint = self.config.endpoints.get(provider)
            self._limiters[provider] = Limiter(
                endpoint.concurrency if endpoint else None,
                endpoint.requests_per_minute if endpoint else None,
            )
        return self._limiters[provider]

    def _network_allowed(self) -> bool:
        if self.allow_network is not None:
            return self.allow_network
        return "PYTEST_CURRENT_TEST" not in os.environ
