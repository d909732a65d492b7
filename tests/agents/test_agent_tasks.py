"""The shipped agents (library/agents/*.yaml) on tiny repository tasks, driven by scripted
models: the refactoring agent produces the expected diff and keeps it when the tests pass, and
reverts a change that breaks them; the code-analysis agent reports structured issues."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from agents_helpers import FIXTURES, POLICY, call, files_of, repo, run_agent, scripted

from evopipe.engine.policy import Policy
from evopipe.models.testing import ScriptedModel
from evopipe.spec.loader import load_file

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "evopipe" / "library" / "agents"


def _expect(task_dir: Path) -> str | None:
    meta = task_dir / "task.yaml"
    return yaml.safe_load(meta.read_text())["expect"] if meta.exists() else None


SOLVABLE = sorted(p.name for p in FIXTURES.iterdir() if _expect(p) == "solved")


@pytest.fixture(autouse=True)
def python_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands find this python (which has pytest) first on PATH."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def _task(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((FIXTURES / name / "task.yaml").read_text())
    return data


async def _refactor(tmp_path: Path, name: str) -> tuple[Path, Any, ScriptedModel]:
    ws = repo(tmp_path, name)
    model = ScriptedModel.from_file(FIXTURES / name / "script.yaml", model_id="agentmodel")
    pipeline = load_file(LIBRARY / "refactor.yaml").pipeline
    result = await run_agent(pipeline, ws, model, inputs={"request": _task(name)["request"]})
    return ws, result, model


def test_there_are_at_least_five_solvable_tasks() -> None:
    assert len(SOLVABLE) >= 5


@pytest.mark.parametrize("name", SOLVABLE)
async def test_refactoring_agent_solves_the_task_with_the_expected_diff(
    tmp_path: Path, name: str
) -> None:
    ws, result, model = await _refactor(tmp_path, name)
    assert result.ok, result.error
    out = result.outputs
    assert out["kept"] is True
    assert out["reverted"] is False
    assert out["stopped"] == "finished"
    assert out["diff"] == (FIXTURES / name / "expected.diff").read_text()
    assert files_of(ws) == files_of(FIXTURES / name / "after")
    assert model.remaining == 0  # the whole script was used: no shortcut


async def test_the_failing_tests_really_fail_before(tmp_path: Path) -> None:
    # the tasks are honest: the test command fails on the untouched repository
    from evopipe.steps.agent.commands import run_command

    for name in ("fix_failing_test", "fix_off_by_one"):
        ws = repo(tmp_path / name, name)
        argv = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        res = await run_command(argv, cwd=ws, policy=POLICY, timeout_s=120)
        assert res.exit_code == 1, res.observation()


async def test_refactoring_agent_reverts_a_change_that_breaks_the_tests(tmp_path: Path) -> None:
    ws, result, _ = await _refactor(tmp_path, "breaking_rename")
    assert result.ok, result.error
    out = result.outputs
    assert out["reverted"] is True
    assert out["kept"] is False
    assert out["diff"] == ""
    assert "-def add(a, b):\n+def plus(a, b):" in out["proposed_diff"]
    assert files_of(ws) == files_of(FIXTURES / "breaking_rename" / "before")
    assert not (ws / ".evopipe-agent").exists()


async def test_code_analysis_agent_reports_structured_issues(tmp_path: Path) -> None:
    ws = repo(tmp_path, "fix_off_by_one")
    issue = {
        "file": "pages.py",
        "line": 2,
        "severity": "error",
        "category": "bug",
        "message": "floor division drops the last partial page",
    }
    model = scripted(
        call("list"),
        call("read", path="pages.py"),
        call("finish", answer={"issues": [{**issue, "line": 0}], "summary": "one bug"}),
        call("finish", answer={"issues": [issue], "summary": "one bug"}),
    )
    pipeline = load_file(LIBRARY / "code_analysis.yaml").pipeline
    result = await run_agent(pipeline, ws, model, policy=Policy.untrusted())
    assert result.ok, result.error
    assert result.outputs == {"issues": [issue], "summary": "one bug"}
    # the first answer broke the schema (line 0): the model was told and answered again
    assert "does not match the output schema" in model.calls[3].messages[-1].content
    assert files_of(ws) == files_of(FIXTURES / "fix_off_by_one" / "before")
