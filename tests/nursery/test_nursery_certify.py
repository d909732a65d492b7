"""The nursery certifies in stages and refuses a pipeline that breaks under injected faults."""

from __future__ import annotations

import contextlib

import pytest
from nursery_helpers import FRAGILE, STURDY, services, shout, words

from evopipe.app.schema import open_store
from evopipe.evaluate.metrics import build_metrics
from evopipe.memory import PatternDB
from evopipe.nursery import NurseryConfig, NurseryError
from evopipe.nursery.certify import certify
from evopipe.nursery.faults import FaultyModels
from evopipe.nursery.records import certifications, is_certified
from evopipe.spec import spec_hash


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    s = open_store("sqlite:///:memory:", environ={})
    yield s
    s.close()


async def _certify(store, retry: str, **cfg: float):  # type: ignore[no-untyped-def]
    pipeline = shout(retry)
    metrics = build_metrics("exact")
    config = NurseryConfig(fault_rate=0.4, **cfg)  # type: ignore[arg-type]
    return pipeline, await certify(
        pipeline, words(), metrics, services=services(), store=store, config=config
    )


async def test_fragile_pipeline_passes_the_dataset_but_is_refused_under_faults(store) -> None:  # type: ignore[no-untyped-def]
    pipeline, cert = await _certify(store, FRAGILE)
    stages = {s.stage: s for s in cert.stages}
    assert [s.stage for s in cert.stages] == ["smoke", "dataset", "robustness"]
    assert stages["dataset"].passed
    assert stages["dataset"].metrics["quality"] == 1.0
    assert not stages["robustness"].passed
    assert stages["robustness"].metrics["injected"] > 0
    assert stages["robustness"].metrics["quality"] < 0.9
    assert cert.status == "refused"
    assert not is_certified(store, spec_hash(pipeline))
    assert PatternDB(store).entries() == []  # only certified pipelines enter the pattern DB


async def test_sturdy_pipeline_is_certified_and_remembered(store) -> None:  # type: ignore[no-untyped-def]
    pipeline, cert = await _certify(store, STURDY)
    assert cert.certified, [s.reason for s in cert.stages]
    robust = cert.stages[-1]
    assert robust.metrics["injected"] > 0
    assert robust.metrics["quality"] == 1.0
    assert is_certified(store, spec_hash(pipeline))
    [entry] = PatternDB(store).entries()
    assert entry.origin == "certified"
    assert entry.pattern_id == spec_hash(pipeline)
    assert entry.fitness == 1.0
    assert [c.status for c in certifications(store)] == ["certified"]


async def test_low_quality_stops_at_the_dataset_gate(store) -> None:  # type: ignore[no-untyped-def]
    pipeline, cert = await _certify(store, STURDY, min_quality=1.0)
    assert cert.certified  # perfect scores pass a gate of 1.0
    from evopipe.engine import Services
    from evopipe.models import ModelHub, ModelsConfig

    hub = ModelHub(ModelsConfig(default_model="fake"))
    refused = await certify(
        pipeline, words(), build_metrics("exact"), services=Services(models=hub), store=store
    )
    assert [s.stage for s in refused.stages] == ["smoke", "dataset"]
    assert not refused.stages[-1].passed
    assert "mean score 0.000" in refused.stages[-1].reason


async def test_fault_injection_is_seeded_per_request() -> None:
    from evopipe.models import Message, ModelError, ModelHub, ModelRequest, ModelsConfig

    async def draws(seed: int) -> list[str]:
        faulty = FaultyModels(ModelHub(ModelsConfig(default_model="fake")), rate=0.5, seed=seed)
        model = faulty.get("fake")
        for i in range(40):
            with contextlib.suppress(ModelError):
                await model.complete(ModelRequest(messages=[Message("user", f"q{i % 7}")]))
        return faulty.injected

    first = await draws(1)
    assert first == await draws(1)
    assert first != await draws(2)
    assert 8 < len(first) < 32
    assert set(first) == {"429", "500", "timeout", "malformed"}
    with pytest.raises(ValueError, match="fault rate"):
        FaultyModels(None, rate=2.0)
    with pytest.raises(NurseryError):
        NurseryConfig(fault_rate=0)
