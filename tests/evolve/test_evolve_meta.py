"""Evolving the evolver: the reflect operator's own pipeline as the candidate."""

from __future__ import annotations

import json
import re
from pathlib import Path

from evolve_helpers import SEED_YAML, scripted_counter, seed_pipeline, slice_dataset

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource, EvolveArgs
from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.meta import OperatorFitness
from evopipe.evolve.operator_runner import EngineOperatorRunner, load_operator
from evopipe.evolve.repository import EvolutionRepository
from evopipe.evolve.source import make_evaluator
from evopipe.models import ModelHub
from evopipe.spec import Pipeline

GOOD_REWRITE = "Reply with the number only, counting carefully. {{ inputs.question }}"


def hub_for(data: Path) -> ModelHub:
    # The operator pipeline's rewrite step gets a useful answer; a prompt carrying that
    # instruction makes the scripted task model count right.
    extra: dict[str, object] = {r"Rewrite the prompt template": GOOD_REWRITE}
    for split in ("train", "val", "test"):
        for line in (data / f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            extra["Reply with the number only.*" + re.escape(row["input"])] = row["target"]
    model = scripted_counter(data, extra)
    hub = ModelHub()
    hub.add(model, "scripted")
    return hub


def broken(reflect: Pipeline) -> Pipeline:
    data = reflect.model_dump(mode="python", by_alias=True)
    data["outputs"] = {"prompt": "{{ steps.diagnose.output }}"}
    return Pipeline.model_validate(data)


async def test_operator_fitness_is_the_improvement_it_produces(tmp_path: Path) -> None:
    data = slice_dataset(tmp_path)
    hub = hub_for(data)
    services = App(Settings.load(tmp_path, persist=False), models=hub).services(journaled=False)
    source = EvalSource(
        str(data), "numeric[pick=first]", model="scripted", mapping={"question": "input"}
    )
    task = make_evaluator(source, services)
    runner = EngineOperatorRunner(services, model="scripted")
    fitness = OperatorFitness("reflect", seed_pipeline(), task, runner)
    good = await fitness.evaluate(load_operator("reflect"), "val")
    bad = await fitness.evaluate(broken(load_operator("reflect")), "val")
    reference = await task.evaluate(seed_pipeline(), "val")
    assert reference.quality == 0.0
    assert bad.quality == 0.0
    assert good.quality == 1.0
    # the operator's own calls are charged to its fitness evaluation
    assert good.calls > reference.calls


async def test_evolve_operator_command_path(tmp_path: Path) -> None:
    data = slice_dataset(tmp_path)
    reference = tmp_path / "counter.yaml"
    reference.write_text(SEED_YAML)
    args = EvolveArgs(
        pipeline=reference,
        source=EvalSource(
            str(data), "numeric[pick=first]", model="scripted", mapping={"question": "input"}
        ),
        config=EvolveConfig(
            generations=2, population=2, offspring=2, seed=1, operators=("instruction", "params")
        ),
        operator="reflect",
    )
    settings = Settings.load(tmp_path, db=str(tmp_path / "evo.db"))
    with App(settings, models=hub_for(data)) as app:
        result = await app.evolutions.evolve(args)
        repo = EvolutionRepository(app.store)
        members = repo.members(result.run_id)
        assert len(members) >= 2
        assert all(repo.get_spec(m.candidate_id).name == "operator-reflect" for m in members)
        assert result.summary["seed_quality"] == 1.0
        assert repo.get_run(result.run_id)["config"]["operator"] == "reflect"
