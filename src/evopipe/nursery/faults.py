"""Fault injection for the nursery's robustness stage.

:class:`FaultyModels` wraps a model source: each call fails, with probability ``rate``, with one
of the simulated model's faults (429 with a short ``retry_after``, 500, timeout, malformed
JSON), raised through the scripted model's error markers
(:func:`evopipe.models.testing.error_from_marker`). The draw for a call depends only on the
seed, the request and how many times that request was made, so concurrent examples get the same
faults in every run.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from evopipe.models import Model, ModelRequest, ModelResponse, ModelWrapper
from evopipe.models.testing import error_from_marker, prompt_digest

FAULTS: tuple[dict[str, Any], ...] = (
    {"error": "429", "retry_after": 0.01, "message": "injected: rate limited (429)"},
    {"error": "500", "message": "injected: server error (500)"},
    {"error": "timeout", "message": "injected: timed out"},
    {"error": "malformed", "message": "injected: malformed JSON"},
)


class FaultInjectingModel(ModelWrapper):
    """``inner`` with seeded faults on a share ``rate`` of its calls."""

    def __init__(self, inner: Model, rate: float, seed: int, counts: Counter[str]) -> None:
        super().__init__(inner)
        self.rate, self.seed = rate, seed
        self._made = counts
        self.injected: list[str] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        digest = prompt_digest(request)
        self._made[digest] += 1
        rng = random.Random(f"{self.seed}:{digest}:{self._made[digest]}")
        if rng.random() < self.rate:
            marker = rng.choice(FAULTS)
            self.injected.append(str(marker["error"]))
            error = error_from_marker(marker)
            assert error is not None  # every FAULTS entry is a marker
            raise error
        return await self.inner.complete(request)


class FaultyModels:
    """A model source handing out :class:`FaultInjectingModel` wrappers (no cache of its own,
    so an evaluation's cache sits outside the faults and cannot hide them)."""

    def __init__(self, inner: Any, *, rate: float, seed: int = 0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {rate}")
        self.inner, self.rate, self.seed = inner, rate, seed
        self._counts: Counter[str] = Counter()
        self._models: dict[str, FaultInjectingModel] = {}

    @property
    def default_model_id(self) -> str:
        return str(self.inner.default_model_id)

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Model:
        mid = model_id or self.default_model_id
        if mid not in self._models:
            inner = self.inner.get(mid, cache_policy=cache_policy)
            self._models[mid] = FaultInjectingModel(inner, self.rate, self.seed, self._counts)
        return self._models[mid]

    @property
    def injected(self) -> list[str]:
        """Every fault injected so far, in order."""
        return [f for m in self._models.values() for f in m.injected]
