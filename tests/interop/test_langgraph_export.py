"""``evopipe export langgraph``: the written graph gives the same outputs as ``evopipe run``."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from interop_needs import need_module
from typer.testing import CliRunner

from evopipe.app.api import load, load_text
from evopipe.cli import build_app
from evopipe.interop import export_pipeline, import_text
from evopipe.models.testing import FakeModel

need_module("langgraph", reason="langgraph is not installed (extra: bench)")

REPO = Path(__file__).resolve().parents[2]
LONG = "Why " + "is the sky blue " * 40 + "?"
CASES: list[tuple[str, dict[str, Any]]] = [
    ("examples/kinds/llm.yaml", {}),
    ("examples/kinds/extract.yaml", {"review": "Great screen, awful battery."}),
    ("examples/kinds/set.yaml", {"first": "Grace"}),
    ("examples/kinds/tool.yaml", {}),
    ("examples/kinds/switch.yaml", {}),
    ("examples/kinds/switch.yaml", {"question": LONG}),  # the other branch
    ("examples/eval/classify.yaml", {"text": "I was charged twice for one coffee."}),
    ("examples/evolve/counter.yaml", {"question": "I have two apples and a pear."}),
]


class _AllFake:
    default_model_id = "fake"

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> FakeModel:
        return FakeModel(model_id or "fake")


def _module(code: str, tmp_path: Path, name: str) -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("path", "inputs"), CASES, ids=[f"{p}-{len(i)}" for p, i in CASES])
def test_exported_graph_gives_the_same_outputs_as_evopipe_run(
    path: str, inputs: dict[str, Any], tmp_path: Path
) -> None:
    handle = load(REPO / path, models=_AllFake())
    expected = asyncio.run(handle.run(inputs, model="fake", cache=False))
    assert expected.status == "succeeded"
    code = export_pipeline("langgraph", handle.pipeline, path)
    graph = _module(code, tmp_path, "exported")
    got = asyncio.run(graph.run(inputs, model="fake", models=_AllFake()))
    assert got == expected.outputs


def test_imported_pipeline_ex_chain_exports_with_its_dependencies(tmp_path: Path) -> None:
    src = REPO / "tests" / "fixtures" / "import" / "pipeline_ex" / "claude_batch_example.yaml"
    imported = import_text("pipeline-ex", src.read_text(), str(src))
    assert imported.text is not None
    handle = load_text(imported.text, models=_AllFake())
    expected = asyncio.run(handle.run({}, cache=False))
    code = export_pipeline("langgraph", handle.pipeline, "batch.yaml")
    assert "graph.add_edge(['batch_math_problems_addition'," in code  # a join waits for all
    graph = _module(code, tmp_path, "batch")
    assert asyncio.run(graph.run({}, models=_AllFake())) == expected.outputs


def test_kinds_a_node_cannot_run_are_refused_with_the_step_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(build_app(), ["export", "langgraph", "examples/kinds/map.yaml"])
    assert result.exit_code == 1
    assert "step 'define': kind 'map' cannot be exported to LangGraph" in result.output
