"""``evopipe validate``, ``evopipe schema`` and ``evopipe --version``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evopipe import __version__
from evopipe.app import App, Settings
from evopipe.cli import build_app
from evopipe.spec.schema import pipeline_json_schema

GOOD = """\
apiVersion: evopipe/v1
name: hello
steps:
  - id: greet
    kind: llm
    prompt: Say hello.
"""
BAD = GOOD.replace("    prompt: Say hello.\n", "    prompt: Say hello.\n    needs: [nobody]\n")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_file_exits_0(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "good.yaml", GOOD)
    result = runner.invoke(build_app(), ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: ok" in result.output
    assert "checked 1 file: 0 errors, 0 warnings" in result.output


def test_errors_exit_1_with_compiler_style_text(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", BAD)
    result = runner.invoke(build_app(), ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        f"{path}:7:13: error[unknown-step]: needs unknown step 'nobody' (at steps[0].needs[0])"
    )
    assert lines[1].startswith("  hint: ")


def test_json_shape(runner: CliRunner, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", GOOD)
    bad = _write(tmp_path, "bad.yaml", BAD)
    missing = tmp_path / "missing.yaml"
    result = runner.invoke(
        build_app(), ["validate", "--format", "json", str(good), str(bad), str(missing)]
    )
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert list(data) == ["files"]
    assert [f["path"] for f in data["files"]] == [str(good), str(bad), str(missing)]
    assert [f["valid"] for f in data["files"]] == [True, False, False]
    for file in data["files"]:
        assert list(file) == ["path", "valid", "diagnostics"]
        for diag in file["diagnostics"]:
            assert list(diag) == ["rule", "severity", "message", "line", "column", "where", "hint"]
    assert data["files"][1]["diagnostics"][0] == {
        "rule": "unknown-step",
        "severity": "error",
        "message": "needs unknown step 'nobody'",
        "line": 7,
        "column": 13,
        "where": "steps[0].needs[0]",
        "hint": "check the step ids",
    }
    assert data["files"][2]["diagnostics"][0]["rule"] == "file-unreadable"


def test_usage_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "good.yaml", GOOD)
    assert runner.invoke(build_app(), ["validate", "--profile", "nope", str(path)]).exit_code == 2
    assert runner.invoke(build_app(), ["validate", "--format", "xml", str(path)]).exit_code == 2
    assert runner.invoke(build_app(), ["validate"]).exit_code == 2


def test_profile_and_trust(runner: CliRunner, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", GOOD)
    result = runner.invoke(build_app(), ["validate", "--profile", "generated", str(good)])
    assert result.exit_code == 1
    assert "error[output-contract-required]" in result.output
    shell = _write(
        tmp_path, "shell.yaml", GOOD.replace("kind: llm\n    prompt: Say hello.", "kind: shell\n"
        "    command: [echo, hi]")
    )  # fmt: skip
    assert runner.invoke(build_app(), ["validate", str(shell)]).exit_code == 1
    assert runner.invoke(build_app(), ["validate", "--trust", str(shell)]).exit_code == 0


def test_directories_expand_to_pipeline_files(runner: CliRunner, tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", GOOD)
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "b.yml", BAD)
    _write(tmp_path, "notes.txt", "not a pipeline")
    result = runner.invoke(build_app(), ["validate", "--format", "json", str(tmp_path)])
    paths = [Path(f["path"]).name for f in json.loads(result.output)["files"]]
    assert paths == ["a.yaml", "b.yml"]


def test_schema_command(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(build_app(), ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == pipeline_json_schema()
    out = tmp_path / "schema.json"
    assert runner.invoke(build_app(), ["schema", "--output", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == pipeline_json_schema()


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(build_app(), ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"evopipe {__version__}"


def test_known_models_come_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "evopipe.toml").write_text(
        '[endpoints.ollama]\nbase_url = "http://localhost:11434/v1"\n'
    )
    known = App(Settings.load(tmp_path)).check_options().known_model
    assert known is not None
    assert known("ollama:qwen3")
    assert known("openai:gpt-5-mini")
    assert known("fake")
    assert not known("acme:1")
