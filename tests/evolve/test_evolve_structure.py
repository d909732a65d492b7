"""Structure discovery on BBH object_counting with a scripted model, through the real engine.

The scripted model cannot count (asked directly it answers target + 1) but lists the objects
of a question correctly when asked to. Evolution must find a deterministic tool structure: with
this seed it is the program ``tool_search`` finds, ``tool: count_listed`` reading the question
(no model call; it sums the quantities listed, so it misses the questions with items outside
the asked category). The test-split score rises, the promotion succeeds, the lineage names the
operator.
"""

from __future__ import annotations

from pathlib import Path

from evolve_helpers import SEED_YAML, scripted_counter, slice_dataset

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource, EvolveArgs
from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.lineage import lineage
from evopipe.evolve.repository import EvolutionRepository
from evopipe.models import ModelHub
from evopipe.orchestrate import Registry
from evopipe.spec.kinds import ToolStep


def genealogy(repo: EvolutionRepository, run_id: str) -> list[tuple[object, ...]]:
    return [(m.candidate_id, m.generation, m.parents, m.operators) for m in repo.members(run_id)]


async def test_evolution_discovers_the_count_tool(tmp_path: Path) -> None:
    data = slice_dataset(tmp_path)
    seed_file = tmp_path / "counter.yaml"
    seed_file.write_text(SEED_YAML)
    hub = ModelHub()
    hub.add(scripted_counter(data), "scripted")
    args = EvolveArgs(
        pipeline=seed_file,
        source=EvalSource(
            str(data), "numeric[pick=first]", model="scripted", mapping={"question": "input"}
        ),
        config=EvolveConfig(generations=4, population=3, offspring=3, seed=3),
    )
    projections: list[dict[str, object]] = []
    with App(Settings.load(tmp_path, db=str(tmp_path / "evo.db")), models=hub) as app:
        store = app.store
        result = await app.evolutions.evolve(args, on_projection=projections.append)
        repo = EvolutionRepository(store)
        assert projections
        assert result.summary["seed_quality"] == 0.0
        assert result.summary["champion_quality"] >= 0.7
        champion = repo.get_spec(result.champion_id)
        assert [s.kind for s in champion.steps][-1] == "tool"
        assert any(isinstance(s, ToolStep) and s.tool == "count_listed" for s in champion.steps)
        nodes = {n["id"]: n for n in lineage(repo, result.run_id)["nodes"]}
        ops = set()
        cid: str | None = result.champion_id
        while cid:
            ops |= set(nodes[cid]["operators"])
            cid = (nodes[cid]["parents"] or [None])[0]
        assert ops & {"tool_search", "transplant"}
        # same seed, same lineage (offspring proposed again, evaluations served from the store)
        twin = await app.evolutions.evolve(args)
        assert genealogy(repo, twin.run_id) == genealogy(repo, result.run_id)
        decision = await app.evolutions.promote(result.champion_id[:12])
        assert decision.promoted, decision.reason
        assert decision.comparison["mean_a"] == 0.0
        assert decision.comparison["mean_b"] >= 0.7
        assert decision.comparison["p_value"] < 0.05
        champ = Registry(store).champion("counter")
        assert champ is not None
        assert champ.candidate_id == result.champion_id
