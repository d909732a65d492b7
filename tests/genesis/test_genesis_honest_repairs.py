"""Repairs correct near-miss references instead of inventing inputs or contract fields (issue
20, item 1); the files genesis writes are referenced from the spec it writes (item 10)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from evopipe.check import check_file
from evopipe.engine import Services
from evopipe.genesis import agenerate
from evopipe.genesis.repairs import apply_repairs
from evopipe.models import ModelHub
from evopipe.models.testing import ScriptedModel
from evopipe.spec import load_file

DRAFT: dict[str, Any] = {
    "apiVersion": "evopipe/v1",
    "kind": "Pipeline",
    "name": "triage",
    "description": "Label an email.",
    "limits": {"max_tokens": 1000},
    "inputs": {"email": {"type": "string"}},
    "steps": [
        {
            "id": "x",
            "kind": "extract",
            "prompt": "Label this email: {{ inputs.emial }}",
            "output": {
                "schema": {
                    "type": "object",
                    "properties": {"label": {"type": "string"}},
                    "required": ["label"],
                }
            },
        },
        {"id": "say", "kind": "llm", "prompt": "Explain {{ steps.x.output.lable }}"},
    ],
    "outputs": {"label": "{{ steps.x.output.label }}", "why": "{{ steps.say.output }}"},
}


def test_a_near_miss_input_is_corrected_not_declared() -> None:
    fixed, applied = apply_repairs(copy.deepcopy(DRAFT))
    assert set(fixed["inputs"]) == {"email"}
    assert "{{ inputs.email }}" in fixed["steps"][0]["prompt"]
    notes = [n for a in applied for n in a.notes]
    assert any("inputs.emial" in n and "inputs.email" in n for n in notes), notes


def test_a_near_miss_contract_field_is_corrected_not_added() -> None:
    fixed, _ = apply_repairs(copy.deepcopy(DRAFT))
    schema = fixed["steps"][0]["output"]["schema"]
    assert set(schema["properties"]) == {"label"}
    assert schema["required"] == ["label"]
    assert "{{ steps.x.output.label }}" in fixed["steps"][1]["prompt"]


def test_a_genuinely_new_input_is_still_declared() -> None:
    draft = copy.deepcopy(DRAFT)
    draft["steps"][1]["prompt"] += " in {{ inputs.language }}"
    fixed, _ = apply_repairs(draft)
    assert set(fixed["inputs"]) == {"email", "language"}


async def test_written_spec_references_its_schema_files(tmp_path: Path) -> None:
    analysis = {
        "functionality": "triage",
        "pattern": "none",
        "model": "default",
        "steps": [{"id": "label", "purpose": "label"}],
    }
    draft, _ = apply_repairs(copy.deepcopy(DRAFT))
    model = ScriptedModel(rules={"Decide what the pipeline": analysis, "Write the pipeline": draft})
    result = await agenerate("triage email", model=model, services=Services(models=ModelHub()))
    written = result.write(tmp_path / "mine.yaml")
    loaded = load_file(tmp_path / "mine.yaml").pipeline
    step = loaded.steps[0]
    assert step.output is not None
    assert step.output.schema_ is None
    assert step.output.schema_file == f"mine.schemas/{step.id}.schema.json"
    file = tmp_path / step.output.schema_file
    assert file in written
    assert json.loads(file.read_text()) == result.pipeline.steps[0].output.schema_  # type: ignore[union-attr]
    errors = [d for d in check_file(tmp_path / "mine.yaml") if d.severity == "error"]
    assert errors == []
    assert "evopipe run mine.yaml" in (tmp_path / "mine.README.md").read_text()
