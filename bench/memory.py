"""Does the collective memory pay? Writes ``bench/results/memory.json``.

1. **Genesis with vs without the pattern DB.** The ``earlier`` requests of
   ``bench/memory_requests.yaml`` are generated first and their pipelines stored in the pattern
   DB (as the nursery stores a certified pipeline); then each ``similar`` request (a reworded
   need, written by hand) is generated with and without memory. Reported: first-try validity,
   rounds, deterministic repairs, model repair rounds, model calls.
2. **Evolution seeded from memory vs not.** Object counting (BBH rows) with a scripted model
   that miscounts when asked directly but lists objects right (the model of the evolution
   tests). Task A is evolved and its champion promoted (so it enters the pattern DB through
   promotion); task B (other rows, a reworded seed) is then evolved in fresh stores, one with
   A's memory (``from_memory``) and one without. Reported: calls to reach the final fitness.
3. **Islands vs one population** at an equal call budget on two tasks: object counting
   (as above) and the synthetic fitness of the evolution tests (a tool step scores 1, other
   specs score by hash), over several seeds.

Every figure comes from deterministic test models (``fake``, scripted), not from a real LLM;
the JSON says so. ``python bench/memory.py [--seeds 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any

import yaml

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource, EvolveArgs
from evopipe.evolve.config import EvolveConfig, Progress
from evopipe.evolve.evaluator import DatasetEvaluator
from evopipe.evolve.fitness import Evaluator
from evopipe.evolve.islands import Colonies, run_islands
from evopipe.evolve.loop import start
from evopipe.evolve.repository import EvolutionRepository
from evopipe.evolve.source import make_evaluator
from evopipe.genesis import GenerationError
from evopipe.memory import PatternDB
from evopipe.models import ModelHub
from evopipe.models.testing import ScriptedModel
from evopipe.spec import Pipeline, loads

HERE = Path(__file__).parent
ROOT = HERE.parent
REQUESTS = HERE / "memory_requests.yaml"
RESULTS = HERE / "results" / "memory.json"
BBH = ROOT / "examples" / "data" / "bbh_object_counting"
sys.path.insert(0, str(ROOT / "tests" / "evolve"))  # the evolution tests' models and fitness
from evolve_helpers import SIZES, SpecEvaluator, counter_rules  # noqa: E402

SEED = """\
apiVersion: evopipe/v1
kind: Pipeline
name: {name}
description: {description}
inputs:
  question: {{type: string}}
outputs:
  answer: "{{{{ steps.answer.output }}}}"
steps:
  - id: answer
    kind: llm
    prompt: "{prompt}\\n{{{{ inputs.question }}}}"
"""
TASK_A = {"name": "count-objects", "description": "Count the objects listed in a question",
          "prompt": "Answer the question with a number."}  # fmt: skip
TASK_B = {"name": "count-items", "description": "Count the objects a question lists",
          "prompt": "How many? Reply with a number only."}  # fmt: skip


# -- 1. genesis ----------------------------------------------------------------------------


def _row(result: Any, calls: int) -> dict[str, Any]:
    """One generation (``result``: a GenerationResult, or the GenerationError it raised)."""
    rounds = result.rounds
    valid = not isinstance(result, GenerationError)
    return {
        "valid": valid,
        "first_try_valid": valid and result.first_try_valid,
        "rounds": len(rounds),
        "deterministic_repairs": sum(len(r.repairs) for r in rounds),
        "model_repair_rounds": sum(r.source == "repair" for r in rounds),
        "reused_memory": valid and str(result.pattern or "").startswith("memory/"),
        "model_calls": calls,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "requests": len(rows),
        "valid": sum(r["valid"] for r in rows),
        "first_try_valid_share": mean(r["first_try_valid"] for r in rows),
        "mean_rounds": mean(r["rounds"] for r in rows),
        "mean_deterministic_repairs": mean(r["deterministic_repairs"] for r in rows),
        "mean_model_repair_rounds": mean(r["model_repair_rounds"] for r in rows),
        "reused_memory": sum(r["reused_memory"] for r in rows),
        "model_calls": sum(r["model_calls"] for r in rows),
    }


class Counted:
    """A model with a call counter (``calls``), wrapping another."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    @property
    def id(self) -> str:
        return "counted"

    @property
    def capabilities(self) -> Any:
        return self.inner.capabilities

    async def complete(self, request: Any) -> Any:
        self.calls += 1
        return await self.inner.complete(request)


async def _generate(app: App, request: str, use_memory: bool) -> Any:
    try:
        outcome = await app.generations.generate(
            request, model="counted", use_memory=use_memory, retrieval_fallback=True
        )
    except GenerationError as exc:
        return exc
    return outcome.result


async def genesis_part(
    work: Path, model_id: str = "fake", limit: int | None = None
) -> dict[str, Any]:
    pairs = yaml.safe_load(REQUESTS.read_text(encoding="utf-8"))[:limit]
    hub = ModelHub()
    model = Counted(hub.get(model_id, cache_policy="off"))
    hub.add(model, "counted")
    out: dict[str, Any] = {"model": model_id, "pairs": len(pairs)}  # fake: schema-aware test model
    with App(Settings.load(work, db=str(work / "genesis.db")), models=hub) as app:
        stored = 0
        for pair in pairs:
            earlier = await _generate(app, pair["earlier"], False)
            if not isinstance(earlier, GenerationError):
                PatternDB(app.store).add(
                    earlier.pipeline, origin="certified", source_ref="bench:earlier"
                )
                stored += 1
        out["earlier_stored"] = stored
        for label, use in (("without_memory", False), ("with_memory", True)):
            rows = []
            for pair in pairs:
                before = model.calls
                result = await _generate(app, pair["similar"], use)
                rows.append(_row(result, model.calls - before))
            out[label] = _summary(rows)
    return out


# -- 2. evolution from memory -------------------------------------------------------------


def cut(out: Path, offset: int) -> Path:
    """Object-counting splits of SIZES rows each, from ``offset`` in each file."""
    out.mkdir(parents=True)
    for split, n in SIZES.items():
        lines = (BBH / f"{split}.jsonl").read_text().splitlines()[offset : offset + n]
        (out / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    return out


def counting_hub(*data: Path) -> ModelHub:
    rules: dict[str, object] = {}
    for d in data:
        rules.update(counter_rules(d))
    hub = ModelHub()
    hub.add(ScriptedModel(rules=rules, model_id="scripted", fallback="I am not sure."), "scripted")
    return hub


def seed_file(work: Path, task: dict[str, str]) -> Path:
    path = work / f"{task['name']}.yaml"
    path.write_text(SEED.format(**task), encoding="utf-8")
    return path


def source(data: Path) -> EvalSource:
    return EvalSource(str(data), "numeric[pick=first]", model="scripted",
                      mapping={"question": "input"}, concurrency=1)  # fmt: skip


def evo_config(seed: int = 0, **kw: Any) -> EvolveConfig:
    base: dict[str, Any] = {
        "generations": 4, "population": 2, "offspring": 2, "seed": seed,
        "operators": ("instruction", "params", "insert_tool", "remove"), "feedback_size": 6,
    }  # fmt: skip
    return EvolveConfig(**{**base, **kw})


async def _evolve(app: App, seed: Path, data: Path, from_memory: bool) -> dict[str, Any]:
    trace: list[tuple[int, float]] = []

    def hook(*, progress: Progress) -> None:
        trace.append((progress.calls, progress.best_quality))

    args = EvolveArgs(seed, source(data), evo_config(), from_memory=from_memory)
    result = await app.evolutions.evolve(args, hooks=[hook])
    final = result.summary["champion_quality"]
    reach = next(c for c, q in trace if q >= final)
    return {"champion_quality": final, "calls_total": result.summary["calls"],
            "calls_to_final_fitness": reach, "stop": result.stop_reason}  # fmt: skip


async def evolution_part(work: Path) -> dict[str, Any]:
    a, b = cut(work / "task_a", 0), cut(work / "task_b", 20)
    hub = counting_hub(a, b)
    seed_a, seed_b = seed_file(work, TASK_A), seed_file(work, TASK_B)
    with App(Settings.load(work, db=str(work / "a.db")), models=hub) as app:
        first = await _evolve(app, seed_a, a, from_memory=False)
        [run_id] = _run_ids(app)
        champion = EvolutionRepository(app.store).get_run(run_id)["summary"]["champion_id"]
        decision = await app.evolutions.promote(champion)
        memory = PatternDB(app.store).entries()
    out: dict[str, Any] = {"task_a": first, "promoted": decision.promoted,
                           "stored_patterns": len(memory)}  # fmt: skip
    for label, use in (("task_b_without_memory", False), ("task_b_with_memory", True)):
        folder = work / label
        folder.mkdir()
        with App(Settings.load(folder, db=str(folder / "b.db")), models=hub) as app:
            if use:
                db = PatternDB(app.store)
                for p in memory:
                    db.add(p.spec, origin="champion", source_ref=p.source_ref,
                           fitness=p.fitness, task=p.task)  # fmt: skip
            out[label] = await _evolve(app, seed_b, b, from_memory=use)
    return out


def _run_ids(app: App) -> list[str]:
    from sqlalchemy import select

    from evopipe.evolve.tables import evo_runs

    with app.store.begin() as conn:
        return [r[0] for r in conn.execute(select(evo_runs.c.run_id))]


# -- 3. islands vs one population ---------------------------------------------------------

MIXES = (("instruction", "params"), ("insert_tool", "remove"))


async def _compare(
    seed: Pipeline, evaluator_for: Any, hub: ModelHub, where: Path, seeds: int, budget: int
) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {"one_population": [], "islands": []}
    for s in range(seeds):
        with App(Settings.load(where, db=str(where / f"i{s}.db")), models=hub) as app:
            repo = EvolutionRepository(app.store)
            config = evo_config(seed=s, generations=8, budget_calls=budget)
            single = await start(seed, repo=repo, evaluator=evaluator_for(app), config=config)
            rows["one_population"].append(
                {"quality": single.summary["champion_quality"], "calls": single.summary["calls"]}
            )
        with App(Settings.load(where, db=str(where / f"j{s}.db")), models=hub) as app:
            repo = EvolutionRepository(app.store)
            result = await run_islands(
                seed, repo=repo, evaluator=evaluator_for(app), config=config,
                colonies=Colonies(MIXES, migrate_every=2),
            )  # fmt: skip
            rows["islands"].append({"quality": result.champion_quality, "calls": result.calls})
    return {
        label: {
            "mean_quality": mean(r["quality"] for r in rs),
            "mean_calls": mean(r["calls"] for r in rs),
            "perfect_runs": sum(r["quality"] >= 1.0 for r in rs),
            "runs": rs,
        }
        for label, rs in rows.items()
    }


async def islands_part(work: Path, seeds: int) -> dict[str, Any]:
    data = cut(work / "islands_oc", 40)
    hub = counting_hub(data)
    seed = loads(SEED.format(**TASK_A)).pipeline

    def counting(app: App) -> Evaluator:
        ev: DatasetEvaluator = make_evaluator(source(data), app.services(journaled=False))
        return ev

    budget = 240
    return {
        "budget_calls": budget,
        "mixes": [list(m) for m in MIXES],
        "object_counting": await _compare(seed, counting, hub, work, seeds, budget),
        "synthetic": await _compare(
            loads(SEED.format(**TASK_B)).pipeline,
            lambda app: SpecEvaluator(),
            hub,
            work,
            seeds,
            budget,
        ),
    }


async def main(seeds: int, local: str | None, local_pairs: int) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "g").mkdir()
        (work / "e").mkdir()
        (work / "i").mkdir()
        results = {
            "what": "collective memory: genesis and evolution with vs without it; islands",
            "models": "deterministic test models only (fake, scripted): no real LLM",
            "python": platform.python_version(),
            "genesis": await genesis_part(work / "g"),
            "evolution_from_memory": await evolution_part(work / "e"),
            "islands": await islands_part(work / "i", seeds),
        }
        if local:
            (work / "l").mkdir()
            results["genesis_local"] = await genesis_part(work / "l", local, local_pairs)
    results["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--local", help="Also measure genesis on this model (e.g. local:...)")
    parser.add_argument("--local-pairs", type=int, default=8)
    a = parser.parse_args()
    print(json.dumps(asyncio.run(main(a.seeds, a.local, a.local_pairs)), indent=2))
