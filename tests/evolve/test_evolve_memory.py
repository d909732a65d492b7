"""Evolution and the collective memory: champions enter the pattern DB, promotion can require a
certification, a run can start from memory, transplant draws on it, and the run leaves its
failures and innovations behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from evolve_helpers import (
    SEED_YAML,
    SpecEvaluator,
    scripted_counter,
    seed_pipeline,
    slice_dataset,
)
from test_evolve_promotion import tool_variant

from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.ecosystem import MemoryRecorder, memory_donors, memory_seeds
from evopipe.evolve.genome import candidate_id
from evopipe.evolve.loop import resume, start
from evopipe.evolve.promotion import promote
from evopipe.evolve.repository import EvolutionRepository
from evopipe.evolve.stats import ecosystem_stats
from evopipe.memory import PatternDB
from evopipe.memory.failures import FailureMuseum
from evopipe.memory.innovations import Gallery
from evopipe.orchestrate import Registry
from evopipe.spec import Pipeline
from evopipe.store import Store


def certification_required(p: Pipeline) -> Pipeline:
    data = p.model_dump(mode="python", by_alias=True)
    data["promotion"] = {"require_certification": True}
    return Pipeline.model_validate(data)


async def test_promotion_requires_a_certification_when_the_policy_says_so(
    repo: EvolutionRepository, store: Store
) -> None:
    seed = certification_required(seed_pipeline())
    strong = certification_required(await tool_variant(seed_pipeline()))
    cid = candidate_id(strong)
    repo.put_spec(cid, strong)
    certified: set[str] = set()
    kwargs: dict[str, Any] = {
        "repo": repo,
        "registry": Registry(store),
        "evaluator": SpecEvaluator(),
        "incumbent": seed,
        "certified": certified.__contains__,
    }
    refused = await promote(cid, **kwargs)
    assert not refused.promoted
    assert "promotion.require_certification" in refused.reason
    assert Registry(store).champion("counter") is None
    certified.add(cid)
    accepted = await promote(cid, **kwargs)
    assert accepted.promoted, accepted.reason
    other = seed_pipeline().model_copy(update={"name": "counter-plain"})
    plain = await tool_variant(other)  # no requirement: no certification needed
    repo.put_spec(candidate_id(plain), plain)
    free = await promote(candidate_id(plain), **{**kwargs, "incumbent": other, "certified": None})
    assert free.promoted, free.reason


def _config(**kw: Any) -> EvolveConfig:
    base: dict[str, Any] = {"generations": 4, "population": 2, "offspring": 2, "seed": 0}
    return EvolveConfig(**{**base, **kw})


async def test_a_run_seeded_from_memory_reaches_the_fitness_in_fewer_calls(
    repo: EvolutionRepository, store: Store
) -> None:
    seed = seed_pipeline()
    PatternDB(store).add(await tool_variant(seed), origin="champion", source_ref="registry:x@v2")
    stored = memory_seeds(store, seed)
    assert len(stored) == 1
    config = _config(operators=("instruction", "insert_tool", "params"))
    cold = await start(seed, repo=repo, evaluator=SpecEvaluator(), config=config)
    warm = await start(
        seed, repo=repo, evaluator=SpecEvaluator(), config=config, from_memory=stored
    )
    assert warm.summary["champion_quality"] == cold.summary["champion_quality"] == 1.0
    assert warm.summary["calls"] < cold.summary["calls"]
    assert warm.champion_id == candidate_id(stored[0])
    members = {m.candidate_id: m for m in repo.members(warm.run_id)}
    assert members[candidate_id(stored[0])].operators == ("memory",)
    again = await resume(warm.run_id, repo=repo, evaluator=SpecEvaluator())
    assert again.champion_id == warm.champion_id  # the stored seeds were recorded with the run


async def test_transplant_draws_on_stored_pipelines(
    repo: EvolutionRepository, store: Store
) -> None:
    seed = seed_pipeline()
    donor = await tool_variant(seed)
    PatternDB(store).add(donor, origin="certified", source_ref="nursery:x")
    donors = memory_donors(store, seed)
    assert donors == [donor]
    config = _config(generations=1, offspring=1, operators=("transplant",))
    alone = await start(seed, repo=repo, evaluator=SpecEvaluator(), config=config)
    assert alone.summary["candidates"] == 1  # nothing to transplant from
    drawn = await start(seed, repo=repo, evaluator=SpecEvaluator(), config=config, donors=donors)
    assert drawn.summary["champion_quality"] == 1.0
    child = repo.get_spec(drawn.champion_id)
    assert any(s.kind == "tool" for s in child.steps)


async def test_a_run_leaves_its_innovations_and_failures_in_memory(
    repo: EvolutionRepository, store: Store
) -> None:
    seed = seed_pipeline()
    config = _config(operators=("insert_tool", "reflect"))
    result = await start(
        seed, repo=repo, evaluator=SpecEvaluator(), config=config, memory=MemoryRecorder(store)
    )
    entries = Gallery(store).entries()
    assert len({e.structure for e in entries}) == len(entries)  # one entry per new structure
    found = next(e for e in entries if "tool:" in e.structure)
    assert found.run_id == result.run_id
    assert found.lineage[0] == result.seed_id
    assert all(e.fitness_gain > 0 for e in entries)
    clusters = {c.cause: c for c in FailureMuseum(store).clusters()}
    assert "other" in clusters or "invalid-spec" in clusters or clusters == {}
    stats = ecosystem_stats(store)
    assert stats["innovations"] == len(entries)
    assert stats["evolution"]["runs"] == 1
    assert stats["novel_structure_share"] == len(entries) / stats["evolution"]["candidates"]


async def test_reflect_is_shown_the_museum_lesson_for_its_failures(store: Store) -> None:
    FailureMuseum(store).record(origin="evaluation", subject="c1", message="wrong count: 4 not 3")
    seen: list[dict[str, Any]] = []

    async def inner(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        seen.append(inputs)
        return {}

    runner = MemoryRecorder(store).lessons(inner)
    failures = json.dumps([{"feedback": "wrong count", "output": "5", "expected": "4"}])
    await runner("reflect", {"prompt": "p", "failures": failures})
    await runner("instruction", {"prompt": "p", "failures": failures})
    assert "Failure museum: Seen 1 time(s) before (wrong-answer)" in seen[0]["failures"]
    assert "wrong count: 4 not 3" in seen[0]["failures"]
    assert seen[1]["failures"] == failures  # only reflect reads the museum


async def test_islands_evolve_side_by_side_and_migrate_their_best(
    repo: EvolutionRepository, store: Store
) -> None:
    from evopipe.evolve.config import EvolveConfigError
    from evopipe.evolve.islands import Archipelago, Colonies

    seed = seed_pipeline()
    prompt_only = Colonies((("instruction", "params"), ("params", "instruction")), migrate_every=1)
    islands = Archipelago(
        seed, repo=repo, evaluator=SpecEvaluator(), config=_config(generations=2),
        colonies=prompt_only,
    )  # fmt: skip
    result = await islands.run()
    assert len(result.runs) == 2
    assert result.migrations >= 1
    moved = [m for r in result.runs for m in repo.members(r.run_id) if m.operators == ("migrate",)]
    assert moved
    assert all(m.parents == (m.candidate_id,) for m in moved)
    spent = sum(evo.spent()[0] for evo in islands.islands)
    assert result.calls < spent  # the shared seed (and migrants) are counted once
    calls = [c for c, _ in result.trajectory]
    assert calls == sorted(calls)
    with pytest.raises(EvolveConfigError):
        Colonies((("instruction",),))


async def test_a_structure_island_finds_the_tool_step(repo: EvolutionRepository) -> None:
    from evopipe.evolve.islands import Colonies, run_islands

    colonies = Colonies((("instruction", "params"), ("insert_tool", "remove")))
    result = await run_islands(
        seed_pipeline(), repo=repo, evaluator=SpecEvaluator(),
        config=_config(generations=3, budget_calls=400), colonies=colonies,
    )  # fmt: skip
    assert result.champion_quality == 1.0
    assert any(s.kind == "tool" for s in repo.get_spec(result.champion_id).steps)


async def test_the_scout_proposes_the_most_novel_structure() -> None:
    import random

    from evopipe.evolve.operators import OPERATORS
    from evopipe.evolve.operators.base import OperatorContext
    from evopipe.evolve.operators.scout import explore, novelty
    from evopipe.memory.innovations import structural_distance

    seed = seed_pipeline()
    tooled = await tool_variant(seed)
    assert structural_distance(seed, seed) == 0.0
    assert 0.0 < structural_distance(seed, tooled) <= 1.0
    known = [seed, tooled]
    child = await OPERATORS["scout"].apply(seed, OperatorContext(random.Random(0), others=[tooled]))
    assert child is not None
    found = await explore(seed, OperatorContext(random.Random(0), others=[tooled]))
    assert len(found) >= 3
    assert novelty(child, known) == max(score for score, _, _ in found) > 0
    assert child in [c for _, c, _ in found]
    assert novelty(child, known) > novelty(tooled, known)  # the tool shape is known already


async def test_a_promoted_champion_enters_the_pattern_db(tmp_path: Path) -> None:
    from evopipe.app import App, Settings
    from evopipe.app.evolve import EvalSource, EvolveArgs
    from evopipe.models import ModelHub

    data = slice_dataset(tmp_path)
    seed = tmp_path / "counter.yaml"
    seed.write_text(SEED_YAML)
    hub = ModelHub()
    hub.add(scripted_counter(data), "scripted")
    source = EvalSource(str(data), "numeric[pick=first]", "scripted", {"question": "input"})
    config = _config(generations=1, operators=("insert_tool",))
    with App(Settings.load(tmp_path, db=str(tmp_path / "e.db")), models=hub) as app:
        result = await app.evolutions.evolve(EvolveArgs(seed, source, config))
        assert app.memory.patterns() == []
        decision = await app.evolutions.promote(result.champion_id[:12])
        assert decision.promoted, decision.reason
        [stored] = app.memory.patterns()
        assert stored.pattern_id == result.champion_id
        assert stored.origin == "champion"
        assert stored.source_ref == f"registry:counter@v{decision.version}"
        assert stored.fitness is not None
        assert stored.fitness > 0.5


async def test_the_scout_reads_the_innovation_gallery(tmp_path: Path) -> None:
    """A structure an earlier run put in the gallery is known to the scout (re-finding it is
    not novel), and the loop's memory hands the gallery's specs to it."""
    import random

    from evopipe.app.schema import open_store
    from evopipe.evolve.ecosystem import MemoryRecorder
    from evopipe.evolve.genome import candidate_id
    from evopipe.evolve.operators import OPERATORS
    from evopipe.evolve.operators.base import OperatorContext
    from evopipe.evolve.operators.scout import novelty
    from evopipe.evolve.repository import EvolutionRepository

    seed = seed_pipeline()
    tooled = await tool_variant(seed)
    from_gallery = await OPERATORS["scout"].apply(
        seed, OperatorContext(random.Random(0), gallery=[tooled])
    )
    blind = await OPERATORS["scout"].apply(seed, OperatorContext(random.Random(0)))
    assert from_gallery is not None
    assert blind is not None
    assert novelty(from_gallery, [seed, tooled]) >= novelty(blind, [seed, tooled])
    assert novelty(from_gallery, [seed, tooled]) > 0

    with open_store(str(tmp_path / "g.db"), environ={}) as store:
        memory = MemoryRecorder(store)
        cid = candidate_id(tooled)
        EvolutionRepository(store).put_spec(cid, tooled)
        memory.improved("evo_x", tooled, cid, ["insert_tool"], [candidate_id(seed)], 0.5)
        assert memory.innovations() == [tooled]
