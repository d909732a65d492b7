"""The loop with a deterministic evaluation double: determinism, checkpoints, crash safety."""

from __future__ import annotations

from typing import Any

import pytest
from evolve_helpers import SpecEvaluator, seed_pipeline

from evopipe.app.schema import MIGRATIONS
from evopipe.evolve import loop
from evopipe.evolve.config import EvolveConfig, EvolveConfigError, Progress
from evopipe.evolve.fitness import EvalRecord
from evopipe.evolve.lineage import lineage, render_dot, render_tree
from evopipe.evolve.repository import EvolutionRepository
from evopipe.store import Store

EMPTY = EvalRecord("val", ())
CONFIG = EvolveConfig(generations=3, population=3, offspring=3, seed=11, models=("fake",))


class Crash(Exception):
    pass


def crash_after(n: int) -> Any:
    seen = {"evaluated": 0}

    def hook(*, progress: Progress) -> None:
        if progress.event == "evaluated":
            seen["evaluated"] += 1
            if seen["evaluated"] == n:
                raise Crash(f"killed after {n} evaluations")

    return hook


def genealogy(repo: EvolutionRepository, run_id: str) -> list[tuple[Any, ...]]:
    return [(m.candidate_id, m.generation, m.parents, m.operators) for m in repo.members(run_id)]


async def test_same_seed_same_lineage(repo: EvolutionRepository) -> None:
    first = await loop.start(seed_pipeline(), repo=repo, evaluator=SpecEvaluator(), config=CONFIG)
    second = await loop.start(seed_pipeline(), repo=repo, evaluator=SpecEvaluator(), config=CONFIG)
    assert genealogy(repo, first.run_id) == genealogy(repo, second.run_id)
    assert first.front == second.front
    assert first.champion_id == second.champion_id
    assert len(genealogy(repo, first.run_id)) > 3


async def test_a_different_seed_explores_differently(repo: EvolutionRepository) -> None:
    other = EvolveConfig(**{**CONFIG.__dict__, "seed": 12})
    a = await loop.start(seed_pipeline(), repo=repo, evaluator=SpecEvaluator(), config=CONFIG)
    b = await loop.start(seed_pipeline(), repo=repo, evaluator=SpecEvaluator(), config=other)
    assert genealogy(repo, a.run_id) != genealogy(repo, b.run_id)


async def test_no_spec_is_evaluated_twice(repo: EvolutionRepository) -> None:
    ev = SpecEvaluator()
    await loop.start(seed_pipeline(), repo=repo, evaluator=ev, config=CONFIG)
    assert len(ev.paid) == len(set(ev.paid))
    again = SpecEvaluator()
    await loop.start(seed_pipeline(), repo=repo, evaluator=again, config=CONFIG)
    assert again.paid == [], "a second identical run must be served from stored evaluations"


async def test_crash_and_resume_pays_nothing_twice_and_ends_identically(
    tmp_path: Any,
) -> None:
    with Store.open(str(tmp_path / "ref.db"), migrations=MIGRATIONS) as ref_store:
        ref_eval = SpecEvaluator()
        ref = await loop.start(
            seed_pipeline(), repo=EvolutionRepository(ref_store), evaluator=ref_eval, config=CONFIG
        )
        ref_lineage = genealogy(EvolutionRepository(ref_store), ref.run_id)

    with Store.open(str(tmp_path / "crash.db"), migrations=MIGRATIONS) as st:
        repo = EvolutionRepository(st)
        before = SpecEvaluator()
        with pytest.raises(Crash):
            await loop.start(
                seed_pipeline(),
                repo=repo,
                evaluator=before,
                config=CONFIG,
                hooks=[crash_after(5)],
                run_id="evo_crash",
            )
        assert repo.get_run("evo_crash")["status"] == "running"
        after = SpecEvaluator()
        resumed = await loop.resume("evo_crash", repo=repo, evaluator=after)
        paid = before.paid + after.paid
        assert len(paid) == len(set(paid)), "an evaluation was paid twice"
        assert sorted(paid) == sorted(ref_eval.paid)
        assert resumed.front == ref.front
        assert resumed.champion_id == ref.champion_id
        assert genealogy(repo, "evo_crash") == ref_lineage
        assert resumed.summary["calls"] == ref.summary["calls"]


async def test_budget_stops_the_run_cleanly(repo: EvolutionRepository) -> None:
    config = EvolveConfig(**{**CONFIG.__dict__, "budget_calls": 10, "generations": 20})
    result = await loop.start(seed_pipeline(), repo=repo, evaluator=SpecEvaluator(), config=config)
    assert result.stop_reason == "budget"
    assert result.generations < 20
    # the budget is checked before each proposal: only the slot in flight (a feedback
    # minibatch plus one evaluation) may overshoot it
    largest = max(
        (repo.get_evaluation(m.candidate_id, "spec-evaluator", "val") or EMPTY).calls
        for m in repo.members(result.run_id)
    )
    assert 10 <= result.summary["calls"] < 10 + largest + 6


async def test_structure_operator_wins_and_lineage_shows_it(repo: EvolutionRepository) -> None:
    # 16 operators share the slots round-robin: enough patience for the structure ones to lead
    config = EvolveConfig(**{**CONFIG.__dict__, "generations": 6, "patience": 6})
    result = await loop.start(seed_pipeline(), repo=repo, evaluator=SpecEvaluator(), config=config)
    assert result.summary["champion_quality"] == 1.0
    data = lineage(repo, result.run_id)
    champion = next(n for n in data["nodes"] if n["id"] == result.champion_id)
    assert champion["quality"] == 1.0
    ancestry_ops = {op for n in data["nodes"] for op in n["operators"]}
    assert ancestry_ops & {"insert_tool", "tool_search", "transplant"}
    assert "*" in render_tree(data)
    assert render_dot(data).startswith("digraph lineage {")
    only = lineage(repo, result.champion_id[:10])
    assert only["focus"] == result.champion_id
    assert {n["id"] for n in only["nodes"]} <= {n["id"] for n in data["nodes"]}
    meta = result.summary["meta"]
    assert meta["innovation"] >= 1
    assert meta["improvement_velocity_per_100_calls"] > 0
    assert set(meta["offspring_checks"]) >= {"ok", "invalid", "repaired"}


def test_config_rejects_unknown_objectives_and_operators() -> None:
    with pytest.raises(EvolveConfigError, match="objective"):
        EvolveConfig(objectives=("beauty",))
    with pytest.raises(EvolveConfigError, match="operator"):
        EvolveConfig(operators=("teleport",))
