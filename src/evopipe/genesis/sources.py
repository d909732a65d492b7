"""Model sources and services for genesis runs."""

from __future__ import annotations

from typing import Any

from evopipe.engine import Services
from evopipe.engine.types import ModelSource
from evopipe.models import ModelHub
from evopipe.models.base import Model


class OverlayModels:
    """A model source that answers with one injected model for its id, else delegates."""

    def __init__(self, base: ModelSource, model: Model | None = None) -> None:
        self._base = base
        self._model = model

    @property
    def default_model_id(self) -> str:
        return self._model.id if self._model is not None else self._base.default_model_id

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Model:
        if self._model is not None and model_id in (None, self._model.id):
            return self._model
        return self._base.get(model_id or self._base.default_model_id, cache_policy=cache_policy)


def default_services() -> Services:
    """Services with a fresh model hub and no store (nothing persisted)."""
    return Services(models=ModelHub())
