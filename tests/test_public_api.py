"""The curated public namespace is pinned: adding or removing a name is a deliberate act."""

import importlib
import subprocess
import sys

import pytest

import evopipe

PINNED = {
    "App", "Budget", "CheckOptions", "Diagnostic", "EvalReport", "EvopipeError", "GenerationError",
    "GenerationResult", "Message", "ModelError", "ModelHub", "ModelRequest", "ModelResponse",
    "Pipeline", "PipelineHandle", "Policy", "PolicyError", "RunOptions", "RunResult", "Services",
    "Settings", "SpecError", "Store", "__version__", "agenerate", "build_metrics", "check_file",
    "check_pipeline", "check_text", "compare", "evaluate", "gate", "generate", "load",
    "load_config", "load_dataset", "load_file", "loads", "parse_condition", "resolve_db_url",
    "resume_run", "run_pipeline", "run_pipeline_sync", "spec_hash", "to_yaml",
}  # fmt: skip


def test_public_names_are_pinned() -> None:
    assert set(evopipe.__all__) == PINNED
    assert len(evopipe.__all__) == len(PINNED)


def test_every_public_name_resolves() -> None:
    for name in evopipe.__all__:
        assert getattr(evopipe, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        evopipe.no_such_name  # noqa: B018


def test_import_is_light_and_side_effect_free() -> None:
    code = (
        "import sys, evopipe; "
        "heavy = [m for m in ('evopipe.engine', 'openai', 'anthropic', 'sqlalchemy', 'llama_cpp')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_names_are_the_real_objects() -> None:
    engine = importlib.import_module("evopipe.engine")
    app = importlib.import_module("evopipe.app")
    assert evopipe.run_pipeline is engine.run_pipeline
    assert evopipe.load is app.load
    assert evopipe.App is app.App
