"""CachedModel: keys, policies, hits cost nothing, failures are not stored."""

from __future__ import annotations

import pytest

from evopipe.models import (
    CachedModel,
    InMemoryCache,
    Message,
    ModelRequest,
    ResponseCacheBackend,
    ServerError,
)
from evopipe.models.testing import FakeModel, ScriptedModel


def req(prompt: str, temperature: float | None = 0, seed: int | None = None) -> ModelRequest:
    return ModelRequest(messages=(Message("user", prompt),), temperature=temperature, seed=seed)


def test_in_memory_cache_implements_the_protocol() -> None:
    assert isinstance(InMemoryCache(), ResponseCacheBackend)


async def test_hit_is_marked_and_free() -> None:
    backend = InMemoryCache()
    inner = ScriptedModel(["paid"], model_id="s")
    model = CachedModel(inner, backend)
    first = await model.complete(req("q"))
    hit = await model.complete(req("q"))
    assert first.cost_usd == 0.0
    assert (hit.text, hit.cached, hit.cost_usd) == ("paid", True, 0.0)
    assert (model.hits, model.misses) == (1, 1)
    assert len(inner.calls) == 1


async def test_key_covers_model_id_and_request_fields() -> None:
    backend = InMemoryCache()
    a = CachedModel(FakeModel("fake:a"), backend)
    b = CachedModel(FakeModel("fake:b"), backend)
    assert a.key(req("q")) != b.key(req("q"))
    assert a.key(req("q")) != a.key(req("q", seed=1))
    assert a.key(req("q")) == a.key(
        ModelRequest(messages=(Message("user", "q"),), temperature=0, timeout_s=5)
    )
    await a.complete(req("q"))
    await b.complete(req("q"))
    assert len(backend) == 2


async def test_failures_are_not_cached() -> None:
    model = CachedModel(ScriptedModel([{"error": "500"}, "ok"]), InMemoryCache())
    with pytest.raises(ServerError):
        await model.complete(req("q"))
    assert (await model.complete(req("q"))).text == "ok"
    assert (await model.complete(req("q"))).cached


async def test_policies() -> None:
    backend = InMemoryCache()
    auto = CachedModel(ScriptedModel(["1", "2"]), backend, "auto")
    assert (await auto.complete(req("q", temperature=0.5))).text == "1"
    assert (await auto.complete(req("q", temperature=0.5))).text == "2"
    assert len(backend) == 0
    off = CachedModel(ScriptedModel(["1", "2"]), backend, "off")
    assert (await off.complete(req("q"))).text == "1"
    assert (await off.complete(req("q"))).text == "2"
    always = CachedModel(ScriptedModel(["1", "2"]), backend, "always")
    assert (await always.complete(req("q", temperature=None))).text == "1"
    assert (await always.complete(req("q", temperature=None))).text == "1"
