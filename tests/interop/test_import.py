"""Every real pipeline_ex and Wave fixture either imports to a valid pipeline that runs on
the fake model, or is refused with located diagnostics naming what has no equivalent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evopipe.app.api import load_text
from evopipe.check import check_text
from evopipe.interop import import_text
from evopipe.interop.report import fixture_files, import_fixture, main
from evopipe.models.testing import FakeModel

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "import"
REPO = ROOT.parents[2]
FIXTURES = fixture_files(ROOT)


class _AllFake:
    """Every model id (google:..., anthropic:...) answers with the schema-aware fake."""

    default_model_id = "fake"

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> FakeModel:
        return FakeModel(model_id or "fake")


def _inputs(text: str) -> dict[str, Any]:
    handle = load_text(text)
    return {
        name: "sample text"
        for name, schema in handle.pipeline.inputs.items()
        if "default" not in schema
    }


def test_fixture_set_is_representative() -> None:
    formats = [fmt for fmt, _ in FIXTURES]
    assert formats.count("pipeline-ex") >= 10
    assert formats.count("wave") >= 10
    assert (ROOT / "pipeline_ex" / "LICENSE").is_file()
    assert (ROOT / "wave" / "LICENSE").is_file()


@pytest.mark.parametrize(("fmt", "path"), FIXTURES, ids=[p.name for _, p in FIXTURES])
def test_fixture_imports_and_runs_or_is_refused_with_locations(fmt: str, path: Path) -> None:
    result = import_fixture(fmt, path)
    for d in result.diagnostics:
        assert d.line >= 1, d.format()
        assert d.column >= 1, d.format()
    if not result.ok:
        assert result.errors, "a refusal must say why"
        return
    assert result.text is not None
    assert [d for d in check_text(result.text) if d.severity == "error"] == []
    handle = load_text(result.text, models=_AllFake())
    run = asyncio.run(handle.run(_inputs(result.text)))
    assert run.status == "succeeded", run.error
    assert set(run.outputs) == set(handle.pipeline.outputs)


def test_import_table_in_docs_is_current() -> None:
    doc = REPO / "docs" / "import.md"
    assert main(["--doc", str(doc), "--fixtures", str(ROOT)]) == 0


PEX = """\
workflow:
  name: "Demo Flow"
  steps:
    - name: "scan"
      type: "gemini"
      model: "gemini-2.5-flash"
      token_budget: {max_output_tokens: 100, top_k: 3}
      prompt:
        - type: "static"
          content: "Scan {{ topic }}"
    - name: "fix"
      type: "claude"
      condition: "scan.severity == 'high'"
      claude_options: {model: "haiku", system_prompt: "Be brief.", verbose: true}
      prompt:
        - type: "previous_response"
          step: "scan"
          extract: "issues"
    - name: "shell"
      type: "file_ops"
"""


def test_pipeline_ex_translation_details_and_located_refusal() -> None:
    result = import_text("pipeline-ex", PEX, "demo.yaml")
    assert not result.ok
    (error,) = result.errors
    assert (error.rule, error.line, error.column) == ("import-unsupported", 20, 7)
    assert "'file_ops'" in error.message
    dropped = {d.where for d in result.warnings}
    assert {
        "workflow.steps[0].token_budget.top_k",
        "workflow.steps[1].claude_options.verbose",
    } <= dropped

    ok = import_text("pipeline-ex", PEX.rsplit('    - name: "shell"', 1)[0], "demo.yaml")
    assert ok.ok
    assert ok.text is not None
    handle = load_text(ok.text)
    scan, fix = handle.pipeline.steps
    assert handle.pipeline.name == "demo-flow"
    assert scan.kind == "extract"
    assert scan.model == "google:gemini-2.5-flash"
    assert set(scan.output.schema_["properties"]) == {"severity", "issues"}  # read downstream
    assert fix.model == "anthropic:claude-haiku-4-5"
    assert fix.system == "Be brief."
    assert fix.when == "steps.scan.output.severity == 'high'"
    assert fix.prompt == "{{ steps.scan.output.issues }}"
    assert fix.needs == ["scan"]
    assert set(handle.pipeline.inputs) == {"topic"}


def test_wave_persona_contract_and_artifacts_come_from_the_agents_directory() -> None:
    path = ROOT / "wave" / "agents" / "pipelines" / "ops-hello-world.yaml"
    result = import_text("wave", path.read_text(encoding="utf-8"), str(path))
    assert result.ok
    assert result.text is not None
    pipeline = load_text(result.text).pipeline
    persona_md = (ROOT / "wave" / "agents" / "personas" / "craftsman.md").read_text()
    assert pipeline.personas["craftsman"].system == persona_md
    greet, review = pipeline.steps
    assert greet.kind == "llm"
    assert review.kind == "extract"
    assert review.needs == ["greet"]
    assert "{{ steps.greet.output }}" in review.prompt
    assert "{{ inputs.input }}" in greet.prompt
    assert set(pipeline.outputs) == {"greeting", "review"}
    assert review.model == "anthropic:claude-haiku-4-5"  # the `cheapest` tier
