"""ModelHub: id resolution through the provider table, injection, default id, caching."""

from __future__ import annotations

from pathlib import Path

import pytest

from evopipe.models import (
    InMemoryCache,
    Message,
    ModelHub,
    ModelRequest,
    UnknownModelError,
)
from evopipe.models.config import config_from_dict
from evopipe.models.testing import FakeModel, ReplayModel, ScriptedModel, SimModel


def test_default_model_id() -> None:
    assert ModelHub().default_model_id == "local:smollm2-135m"
    assert ModelHub(config_from_dict({"default_model": "fake"})).default_model_id == "fake"


def test_unknown_provider_lists_known_ones() -> None:
    with pytest.raises(UnknownModelError) as info:
        ModelHub().get("nope:thing")
    assert "fake" in str(info.value)
    assert "sim" in str(info.value)


def test_resolves_test_models(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("- hi\n")
    (tmp_path / "r.jsonl").write_text("")
    hub = ModelHub(config_from_dict({}, base_dir=tmp_path))
    assert isinstance(hub.get("fake"), FakeModel)
    assert isinstance(hub.get("scripted:s.yaml"), ScriptedModel)
    assert isinstance(hub.get("replay:r.jsonl"), ReplayModel)
    sim = hub.get("sim:latency_ms=1,fail_rate=0.1,seed=1")
    assert isinstance(sim, SimModel)
    assert hub.get("fake") is hub.get("fake")


async def test_add_injects_instance() -> None:
    hub = ModelHub()
    model = ScriptedModel(["a"])
    hub.add(model, "my:model")
    assert hub.get("my:model") is model
    hub.add(FakeModel("fake:x"))
    assert hub.get("fake:x").id == "fake:x"


async def test_cache_wraps_models_at_temperature_zero() -> None:
    cache = InMemoryCache()
    hub = ModelHub(cache=cache)
    hub.add(ScriptedModel(["one", "two", "three"]), "s")
    model = hub.get("s")
    request = ModelRequest(messages=(Message("user", "q"),), temperature=0)
    first = await model.complete(request)
    second = await model.complete(request)
    assert (first.text, first.cached) == ("one", False)
    assert (second.text, second.cached, second.cost_usd) == ("one", True, 0.0)
    hot = ModelRequest(messages=(Message("user", "q"),), temperature=0.7)
    assert (await model.complete(hot)).text == "two"
    assert (await hub.get("s", cache_policy="always").complete(hot)).text == "three"
    assert (await hub.get("s", cache_policy="always").complete(hot)).cached
