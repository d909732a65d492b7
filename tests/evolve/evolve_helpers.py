"""Helpers of the evolution tests: a seed pipeline and a deterministic evaluation double."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from evopipe.evolve.fitness import EvalRecord, ExampleResult
from evopipe.evolve.genome import candidate_id
from evopipe.evolve.operators.insert_tool import RECIPES
from evopipe.models.testing import ScriptedModel
from evopipe.spec import Pipeline, loads

SEED_YAML = """\
apiVersion: evopipe/v1
kind: Pipeline
name: counter
inputs:
  question: {type: string}
outputs:
  answer: "{{ steps.answer.output }}"
steps:
  - id: answer
    kind: llm
    prompt: "Answer the question with a number.\\n{{ inputs.question }}"
"""


def seed_pipeline(text: str = SEED_YAML) -> Pipeline:
    return loads(text).pipeline


class SpecEvaluator:
    """Evaluation double for loop tests: a pure function of (spec, example).

    A pipeline with a ``tool`` step scores 1 on every example; others score 1 on the examples
    whose hash with the spec id falls in a third. Calls: one per llm-like step per example.
    """

    dataset_key = "spec-evaluator"

    def __init__(self, sizes: dict[str, int] | None = None) -> None:
        self.sizes = sizes or {"train": 6, "val": 6, "test": 12}
        self.paid: list[tuple[str, str]] = []

    def split_size(self, split: str) -> int:
        return self.sizes[split]

    async def evaluate(
        self, pipeline: Pipeline, split: str, *, limit: int | None = None
    ) -> EvalRecord:
        cid = candidate_id(pipeline)
        self.paid.append((cid, split))
        n = min(limit or self.sizes[split], self.sizes[split])
        has_tool = any(s.kind == "tool" for s in pipeline.steps)
        llm_steps = sum(1 for s in pipeline.steps if s.kind in ("llm", "extract"))
        examples = []
        for i in range(n):
            digest = int(hashlib.sha256(f"{cid}:{split}:{i}".encode()).hexdigest(), 16)
            score = 1.0 if has_tool or digest % 3 == 0 else 0.0
            examples.append(
                ExampleResult(
                    example_id=f"{split}-{i}",
                    score=score,
                    inputs={"question": f"I have {i} apples. How many fruits?"},
                    output=str(i if score else i + 1),
                    expected=str(i),
                    feedback=None if score else "wrong count",
                    calls=llm_steps,
                    cost_usd=0.001 * llm_steps,
                )
            )
        return EvalRecord(split, tuple(examples))


DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "bbh_object_counting"
SIZES = {"train": 6, "val": 10, "test": 20}
LIST_INSTRUCTION = next(r for r in RECIPES if r.tool == "count").instruction


def slice_dataset(tmp: Path) -> Path:
    out = tmp / "bbh_oc"
    out.mkdir()
    for split, n in SIZES.items():
        lines = (DATA / f"{split}.jsonl").read_text().splitlines()[:n]
        (out / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    return out


def counter_rules(data: Path) -> dict[str, object]:
    """A model that cannot count (direct answers are target + 1) but lists objects right."""
    rules: dict[str, object] = {}
    rows = [json.loads(x) for s in SIZES for x in (data / f"{s}.jsonl").read_text().splitlines()]
    for row in rows:
        q = re.escape(row["input"])
        rules[re.escape(LIST_INSTRUCTION[:40]) + ".*" + q] = {
            "objects": [f"object{i}" for i in range(int(row["target"]))]
        }
    for row in rows:
        rules[re.escape(row["input"])] = f"I count {int(row['target']) + 1}."
    return rules


def scripted_counter(data: Path, extra: dict[str, object] | None = None) -> ScriptedModel:
    rules = {**(extra or {}), **counter_rules(data)}
    return ScriptedModel(rules=rules, model_id="scripted", fallback="I am not sure.")
