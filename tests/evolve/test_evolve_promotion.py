"""Promotion on the test split (paired bootstrap), approval, registry, rollback."""

from __future__ import annotations

import pytest
from evolve_helpers import SpecEvaluator, seed_pipeline

from evopipe.evolve.genome import candidate_id
from evopipe.evolve.operators import OPERATORS
from evopipe.evolve.operators.base import OperatorContext
from evopipe.evolve.promotion import promote
from evopipe.evolve.repository import EvolutionRepository
from evopipe.orchestrate import Registry, RegistryError, resolve_champion
from evopipe.spec import Pipeline
from evopipe.store import Store


async def tool_variant(seed: Pipeline) -> Pipeline:
    import random

    child = await OPERATORS["insert_tool"].apply(seed, OperatorContext(rng=random.Random(0)))
    assert child is not None
    return child


def reworded(seed: Pipeline, text: str) -> Pipeline:
    data = seed.model_dump(mode="python", by_alias=True)
    data["steps"][0]["prompt"] = data["steps"][0]["prompt"] + text
    return Pipeline.model_validate(data)


def approval_required(p: Pipeline) -> Pipeline:
    data = p.model_dump(mode="python", by_alias=True)
    data["promotion"] = {"require_approval": True}
    return Pipeline.model_validate(data)


async def test_promotion_refuses_a_candidate_that_does_not_beat_the_incumbent(
    repo: EvolutionRepository, store: Store
) -> None:
    seed = seed_pipeline()
    weak = reworded(seed, " (variant)")
    repo.put_spec(candidate_id(weak), weak)
    decision = await promote(
        candidate_id(weak),
        repo=repo,
        registry=Registry(store),
        evaluator=SpecEvaluator(),
        incumbent=seed,
    )
    assert not decision.promoted
    assert "does not beat the incumbent" in decision.reason
    assert decision.comparison["n"] == 12
    assert Registry(store).champion("counter") is None


async def test_promotion_accepts_a_significant_winner_and_records_evidence(
    repo: EvolutionRepository, store: Store
) -> None:
    seed = seed_pipeline()
    strong = await tool_variant(seed)
    repo.put_spec(candidate_id(strong), strong)
    registry = Registry(store)
    ev = SpecEvaluator()
    decision = await promote(
        candidate_id(strong), repo=repo, registry=registry, evaluator=ev, incumbent=seed
    )
    assert decision.promoted, decision.reason
    assert decision.comparison["diff"] > 0
    assert decision.comparison["p_value"] < 0.05
    assert decision.version == 2  # v1 = the seed, registered as the baseline
    champ = registry.champion("counter")
    assert champ is not None
    assert champ.candidate_id == candidate_id(strong)
    assert champ.evidence["comparison"]["p_value"] < 0.05
    assert resolve_champion("counter", store) == strong
    # the test split was scored once per spec, and a repeat promotion pays nothing
    assert sorted(s for _, s in ev.paid) == ["test", "test"]
    again = await promote(
        candidate_id(strong), repo=repo, registry=registry, evaluator=ev, incumbent=seed
    )
    assert not again.promoted
    assert again.reason == "the candidate is the incumbent"
    assert len(ev.paid) == 2


async def test_approval_is_required_when_the_pipeline_says_so(
    repo: EvolutionRepository, store: Store
) -> None:
    seed = approval_required(seed_pipeline())
    strong = approval_required(await tool_variant(seed_pipeline()))
    repo.put_spec(candidate_id(strong), strong)
    registry = Registry(store)
    kw = {"repo": repo, "registry": registry, "evaluator": SpecEvaluator(), "incumbent": seed}
    refused = await promote(candidate_id(strong), **kw)  # type: ignore[arg-type]
    assert not refused.promoted
    assert "approval required" in refused.reason
    ok = await promote(candidate_id(strong), approved_by="alice", **kw)  # type: ignore[arg-type]
    assert ok.promoted
    champ = registry.champion("counter")
    assert champ is not None
    assert champ.approved_by == "alice"


def test_rollback_moves_the_champion_pointer_back(store: Store) -> None:
    registry = Registry(store)
    seed = seed_pipeline()
    v1 = registry.add_version("counter", candidate_id(seed), seed, {})
    registry.set_champion("counter", v1)
    better = reworded(seed, " Think.")
    v2 = registry.add_version("counter", candidate_id(better), better, {"p": 0.01})
    registry.set_champion("counter", v2)
    assert resolve_champion("counter", store) == better
    back = registry.rollback("counter")
    assert back.version == v1
    assert resolve_champion("counter", store) == seed
    assert [e["action"] for e in registry.history("counter")] == ["promote", "promote", "rollback"]
    with pytest.raises(RegistryError, match="no earlier champion"):
        registry.rollback("counter")
    with pytest.raises(RegistryError, match="no champion"):
        resolve_champion("nobody", store)
