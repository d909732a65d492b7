"""Operators act on what genesis produces (extract steps with contracts), crossover makes real
children and records both parents, and the normal evolve output says when operators produced
nothing and why (issue 20, item 8)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource, EvolveArgs
from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.genome import candidate_id
from evopipe.evolve.operators import OPERATORS, OperatorContext
from evopipe.evolve.operators.base import output_steps
from evopipe.evolve.repository import EvolutionRepository
from evopipe.evolve.validity import check_offspring
from evopipe.models import ModelHub
from evopipe.spec import Pipeline, loads

GENESIS_LIKE = """\
apiVersion: evopipe/v1
kind: Pipeline
name: triage
description: Label a support email.
inputs:
  text: {type: string}
limits: {max_tokens: 40000}
steps:
  - id: classify
    kind: extract
    prompt: "Label this email as urgent or normal: {{ inputs.text }}"
    output:
      schema:
        type: object
        properties: {label: {type: string}}
        required: [label]
outputs:
  label: "{{ steps.classify.output.label }}"
"""


def _seed() -> Pipeline:
    return loads(GENESIS_LIKE).pipeline


def _ctx(seed: int = 0, **kw: Any) -> OperatorContext:
    return OperatorContext(rng=random.Random(seed), **kw)


async def test_structure_operators_act_on_extract_steps() -> None:
    for name in ("insert_verifier", "insert_ensemble"):
        child = await OPERATORS[name].apply(_seed(), _ctx())
        assert child is not None, name
        assert output_steps(child) != ["classify"], name
        assert check_offspring(child).verdict == "ok", name
        assert "output.label" in child.outputs["label"], name


def _variant(prompt: str, temperature: float) -> Pipeline:
    data = _seed().model_dump(mode="python", by_alias=True)
    data["steps"][0]["prompt"] = prompt + " {{ inputs.text }}"
    data["steps"][0]["temperature"] = temperature
    return Pipeline.model_validate(data)


async def test_crossover_mixes_two_parents_and_names_the_partner() -> None:
    a = _variant("Label this email as urgent or normal:", 0.0)
    b = _variant("Is this email urgent? Answer urgent or normal:", 0.7)
    ctx = _ctx(1, others=[b])
    child = await OPERATORS["crossover"].apply(a, ctx)
    assert child is not None
    assert candidate_id(child) not in {candidate_id(a), candidate_id(b)}
    assert [candidate_id(p) for p in ctx.partners] == [candidate_id(b)]
    assert check_offspring(child).verdict == "ok"


async def test_evolve_records_both_parents_and_explains_idle_operators(tmp_path: Path) -> None:
    seed_file = tmp_path / "triage.yaml"
    seed_file.write_text(GENESIS_LIKE)
    rows = [
        {"text": f"email {i}", "label": "urgent" if i % 2 else "normal", "split": split}
        for i, split in enumerate(["train"] * 4 + ["val"] * 4 + ["test"] * 4)
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(__import__("json").dumps(r) for r in rows) + "\n")
    ops = ("instruction", "params", "crossover", "parallelise", "insert_ensemble")
    args = EvolveArgs(
        pipeline=seed_file,
        source=EvalSource(str(data), "exact", model="fake", expected="label"),
        config=EvolveConfig(generations=3, population=4, offspring=4, seed=2, operators=ops),
    )
    with App(Settings.load(tmp_path, db=str(tmp_path / "evo.db")), models=ModelHub()) as app:
        result = await app.evolutions.evolve(args)
        members = EvolutionRepository(app.store).members(result.run_id)
    crossed = [m for m in members if "crossover" in m.operators]
    assert crossed, result.summary["meta"]["operator_stats"]
    assert all(len(m.parents) == 2 for m in crossed)
    notes = result.summary["notes"]
    assert any(n.startswith("parallelise produced no child") for n in notes), notes
