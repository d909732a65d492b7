"""The catalog's development pipelines use the agent step on the example service: the bug-fix
pipeline, run from the CLI with ``--workspace`` on a copy of the service with a bug in it,
fixes the bug and keeps the change because the service's own tests pass (scripted model)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from evopipe.cli import build_app

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "examples" / "catalog" / "pipelines"
TESTS = "python -m unittest discover -s tests -q"


def _call(name: str, **arguments: str) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example service whose ``add`` subtracts."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "service"
    shutil.copytree(
        REPO / "examples" / "service", copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    code = copy / "src" / "service.py"
    code.write_text(code.read_text().replace("return int(a) + int(b)", "return int(a) - int(b)"))
    return copy


def test_the_bug_fix_pipeline_fixes_the_service_and_keeps_the_change(service: Path) -> None:
    script = [
        _call("run", command=TESTS),
        _call("read", path="src/service.py"),
        _call("edit", path="src/service.py", old="int(a) - int(b)", new="int(a) + int(b)"),
        _call("run", command=TESTS),
        _call("finish", answer="add subtracted; it adds again"),
    ]
    (service.parent / "script.yaml").write_text(yaml.safe_dump(script))
    result = CliRunner().invoke(
        build_app(),
        ["run", str(CATALOG / "bug-fix.yaml"), "--trust", "--workspace", str(service),
         "--model", f"scripted:{service.parent / 'script.yaml'}", "--json",
         "-i", "report=add('2', '3') returns -1", "--db", str(service.parent / "r.db")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    outputs = json.loads(result.stdout)["outputs"]
    assert outputs["kept"] is True, result.stdout
    assert outputs["stopped"] == "finished"
    assert "+    return int(a) + int(b)" in outputs["diff"]
    assert "return int(a) + int(b)" in (service / "src" / "service.py").read_text()


@pytest.mark.parametrize("name", ["bug-fix", "feature", "refactoring"])
def test_development_pipelines_are_agents_that_need_trust(name: str) -> None:
    text = (CATALOG / f"{name}.yaml").read_text()
    assert "kind: agent" in text
    untrusted = CliRunner().invoke(build_app(), ["validate", str(CATALOG / f"{name}.yaml")])
    assert untrusted.exit_code == 1  # write and command tools are refused without --trust
    trusted = CliRunner().invoke(
        build_app(), ["validate", "--trust", str(CATALOG / f"{name}.yaml")]
    )
    assert trusted.exit_code == 0, trusted.output
