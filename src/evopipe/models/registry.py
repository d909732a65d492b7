"""The provider table: provider name → factory building a :class:`Model` for one model name.

A model id is ``provider:name`` (``fake`` alone is ``fake:``). Built-in providers are listed in
:data:`BUILTIN_PROVIDERS`; SDK adapters are imported lazily by their factory so that importing
evopipe does not import every SDK. A hub may register more providers (``hub.register_provider``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evopipe.models.base import Model
from evopipe.models.config import EndpointConfig, ModelsConfig
from evopipe.models.cost import PriceBook
from evopipe.models.limits import Limiter
from evopipe.models.testing import FakeModel, ReplayModel, ScriptedModel, SimModel


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What a factory may use: config, the endpoint (if named), prices, injected HTTP client."""

    provider: str
    config: ModelsConfig
    prices: PriceBook
    endpoint: EndpointConfig | None = None
    http_client: Any = None
    allow_network: bool = False
    limiter: Limiter | None = None

    def path(self, name: str) -> Path:
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.config.base_dir / path


ProviderFactory = Callable[[str, ProviderContext], Model]


def _fake(name: str, ctx: ProviderContext) -> Model:
    return FakeModel(f"fake:{name}" if name else "fake")


def _scripted(name: str, ctx: ProviderContext) -> Model:
    return ScriptedModel.from_file(ctx.path(name), model_id=f"scripted:{name}")


def _replay(name: str, ctx: ProviderContext) -> Model:
    return ReplayModel.from_file(ctx.path(name), model_id=f"replay:{name}")


def _sim(name: str, ctx: ProviderContext) -> Model:
    return SimModel.from_params(name)


def _lazy(module: str, attr: str = "build") -> ProviderFactory:
    """A factory that imports ``evopipe.models.<module>`` on first use."""

    def factory(name: str, ctx: ProviderContext) -> Model:
        build: ProviderFactory = getattr(importlib.import_module(f"evopipe.models.{module}"), attr)
        return build(name, ctx)

    factory.__name__ = f"{module}.{attr}"
    return factory


BUILTIN_PROVIDERS: Mapping[str, ProviderFactory] = MappingProxyType(
    {
        "fake": _fake,
        "scripted": _scripted,
        "replay": _replay,
        "sim": _sim,
        "openai": _lazy("adapters.openai"),
        "anthropic": _lazy("adapters.anthropic"),
        "google": _lazy("adapters.google"),
        "local": _lazy("adapters.local"),
    }
)
"""Provider name → factory. Adapters add one line here."""


def split_model_id(model_id: str) -> tuple[str, str]:
    provider, _, name = model_id.partition(":")
    return provider.strip(), name.strip()
