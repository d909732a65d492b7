"""Small-data defaults say what they do (issue 20, item 5): evolution says a perfect seed on
a tiny split is not convergence; promotion says when the test split is too small to pass."""

from __future__ import annotations

import json
from pathlib import Path

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource, EvolveArgs
from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.promotion import small_split_hint
from evopipe.models import ModelHub

CALC = """\
apiVersion: evopipe/v1
name: calc
inputs: {expr: {type: string}}
steps:
  - {id: calc, kind: tool, tool: arithmetic, args: {expression: "{{ inputs.expr }}"}}
outputs: {answer: "{{ steps.calc.output }}"}
"""


async def test_a_seed_acing_a_tiny_split_is_reported_as_such(tmp_path: Path) -> None:
    seed = tmp_path / "calc.yaml"
    seed.write_text(CALC)
    rows = [
        {"expr": f"{i}+1", "answer": str(i + 1), "split": s}
        for i, s in enumerate(["train"] * 3 + ["val"] * 3 + ["test"] * 3)
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    args = EvolveArgs(
        pipeline=seed,
        source=EvalSource(str(data), "numeric", expected="answer"),
        config=EvolveConfig(generations=3, population=2, offspring=2, seed=1),
    )
    with App(Settings.load(tmp_path, db=str(tmp_path / "evo.db")), models=ModelHub()) as app:
        result = await app.evolutions.evolve(args)
    assert result.stop_reason == "perfect"
    notes = " ".join(result.summary["notes"])
    assert "the seed already scores 1.000 on all 3 val row(s)" in notes
    assert "too few rows" in notes


def test_promotion_hint_on_a_split_too_small_to_ever_pass() -> None:
    hint = small_split_hint(4, 0.95)
    assert hint is not None
    assert "can never pass" in hint
    assert "at least 6" in hint
    soft = small_split_hint(8, 0.95)
    assert soft is not None
    assert "can never pass" not in soft
    assert small_split_hint(40, 0.95) is None
