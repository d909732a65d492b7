"""What `evopipe run` prints when things go wrong (issue 20, item 10): checker errors located
as file:line:col, and a failed run prints no empty `{}` outputs on stdout."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from evopipe.cli import build_app

BAD_REF = """\
apiVersion: evopipe/v1
name: bad
inputs:
  text: {type: string}
steps:
  - id: a
    kind: llm
    prompt: "Say {{ inputs.txt }}"
"""

FAILS = """\
apiVersion: evopipe/v1
name: fails
steps:
  - {id: calc, kind: tool, tool: arithmetic, args: {expression: "1/0"}}
outputs: {answer: "{{ steps.calc.output }}"}
"""


def test_run_locates_checker_errors_in_the_file(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_REF, encoding="utf-8")
    out = cli.invoke(build_app(), ["run", str(path), "-i", "text=hi", "--model", "fake"])
    assert out.exit_code == 2
    assert f"{path}:8:21: error[template-unknown-ref]" in out.stderr
    assert "<pipeline>" not in out.stderr


def test_a_failed_run_prints_no_empty_outputs(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "fails.yaml"
    path.write_text(FAILS, encoding="utf-8")
    out = cli.invoke(build_app(), ["run", str(path)])
    assert out.exit_code == 1
    assert out.stdout.strip() == ""
    assert ": failed" in out.stderr
