"""``FallbackModel``: try models in order, moving on when one fails with a retryable error.

The engine owns step-level fallback policy; this helper is for direct callers (CLI ``try``,
scripts) and composes with :class:`~evopipe.models.limits.RetryingModel`.
"""

from __future__ import annotations

from collections.abc import Sequence

from evopipe.models.base import (
    Capabilities,
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    RetryableModelError,
)


class FallbackModel:
    def __init__(self, models: Sequence[Model]) -> None:
        if not models:
            raise ModelError("FallbackModel needs at least one model")
        self.models = list(models)
        self.failures: list[tuple[str, str]] = []

    @property
    def id(self) -> str:
        return "fallback:" + ",".join(m.id for m in self.models)

    @property
    def capabilities(self) -> Capabilities:
        return self.models[0].capabilities

    async def complete(self, request: ModelRequest) -> ModelResponse:
        last: RetryableModelError | None = None
        for model in self.models:
            try:
                return await model.complete(request)
            except RetryableModelError as exc:
                self.failures.append((model.id, type(exc).__name__))
                last = exc
        assert last is not None
        raise last
