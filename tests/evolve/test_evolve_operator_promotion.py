"""An evolved operator can be promoted, and evolution then uses it by name (issue 20, item 9)."""

from __future__ import annotations

from pathlib import Path

from evolve_helpers import SEED_YAML, slice_dataset
from test_evolve_meta import broken, hub_for

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource, EvolveArgs
from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.genome import candidate_id
from evopipe.evolve.operator_runner import load_operator
from evopipe.evolve.repository import EvolutionRepository, Member
from evopipe.models.testing import ScriptedModel
from evopipe.orchestrate import Registry
from evopipe.spec import Pipeline
from evopipe.store import Store

MARK = "Name the single most common mistake first."


def improved_reflect() -> Pipeline:
    """The shipped reflect with one extra instruction in its first step (a distinct variant)."""
    data = load_operator("reflect").model_dump(mode="python", by_alias=True)
    data["steps"][0]["prompt"] = data["steps"][0]["prompt"].rstrip() + "\n" + MARK + "\n"
    return Pipeline.model_validate(data)


def _source(data: Path) -> EvalSource:
    return EvalSource(
        str(data), "numeric[pick=first]", model="scripted", mapping={"question": "input"}
    )


def _operator_run(store: Store, tmp_path: Path, data: Path) -> str:
    """An `evolve --operator reflect` run whose seed is a broken reflect and whose offspring
    is the improved one (as a run would record them)."""
    reference = tmp_path / "counter.yaml"
    reference.write_text(SEED_YAML)
    repo = EvolutionRepository(store)
    seed, child = broken(load_operator("reflect")), improved_reflect()
    sid, cid = candidate_id(seed), candidate_id(child)
    extra = {
        "config": EvolveConfig().to_json(),
        "source": _source(data).to_json(),
        "pipeline_path": str(reference),
        "operator_model": None,
        "operator": "reflect",
    }
    repo.put_spec(sid, seed)
    repo.put_spec(cid, child)
    repo.create_run("evo_op", seed.name, sid, extra)
    repo.add_member("evo_op", Member(sid, 0, 0, (), ("seed",), "", "evaluated"))
    repo.add_member("evo_op", Member(cid, 0, 1, (sid,), ("instruction",), "", "evaluated"))
    return cid


async def test_an_evolved_operator_is_promoted_then_used_by_name(tmp_path: Path) -> None:
    data = slice_dataset(tmp_path)
    hub = hub_for(data)
    with App(Settings.load(tmp_path, db=str(tmp_path / "evo.db")), models=hub) as app:
        store = app.store
        cid = _operator_run(store, tmp_path, data)
        decision = await app.evolutions.promote(cid[:12])
        assert decision.promoted, decision.reason
        assert decision.name == "operator-reflect"
        champion = Registry(store).champion("operator-reflect")
        assert champion is not None
        assert champion.candidate_id == cid

        task = tmp_path / "counter.yaml"
        args = EvolveArgs(
            pipeline=task,
            source=_source(data),
            config=EvolveConfig(
                generations=1, population=2, offspring=1, seed=0, operators=("reflect",)
            ),
        )
        result = await app.evolutions.evolve(args)
        info = EvolutionRepository(store).get_run(result.run_id)
    assert info["config"]["operator_pipelines"] == {"reflect": cid}
    model = hub.get("scripted", cache_policy="off")
    assert isinstance(model, ScriptedModel)
    assert any(MARK in m.content for call in model.calls for m in call.messages)
