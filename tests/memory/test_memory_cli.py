"""``evopipe nursery run``, ``patterns list|show|search``, ``failures`` and ``stats`` end to
end through the CLI on one store."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from evopipe.cli import build_app

CALC = """\
apiVersion: evopipe/v1
kind: Pipeline
name: calc
description: Compute an arithmetic expression exactly
inputs:
  expr: {type: string}
outputs:
  answer: "{{ steps.calc.output }}"
steps:
  - id: calc
    kind: tool
    tool: arithmetic
    args: {expression: "{{ inputs.expr }}"}
"""

ECHO = """\
apiVersion: evopipe/v1
kind: Pipeline
name: echo
inputs:
  expr: {type: string}
outputs:
  answer: "{{ steps.say.output }}"
steps:
  - id: say
    kind: llm
    prompt: "Compute {{ inputs.expr }}"
"""


def test_certify_then_find_in_memory(tmp_path: Path) -> None:
    (tmp_path / "calc.yaml").write_text(CALC, encoding="utf-8")
    (tmp_path / "echo.yaml").write_text(ECHO, encoding="utf-8")
    rows = [{"expr": f"{i}+{i}", "expected": str(2 * i)} for i in range(1, 6)]
    data = tmp_path / "sums.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    app, runner = build_app(), CliRunner()
    common = ["--db", str(tmp_path / "m.db")]

    def run(*args: str) -> tuple[int, str]:
        out = runner.invoke(app, [*args, *common])
        return out.exit_code, out.output

    code, text = run("nursery", "run", str(tmp_path / "calc.yaml"), "-d", str(data))
    assert code == 0, text
    assert "pass  robustness" in text
    assert "certified: calc" in text
    code, text = run("nursery", "run", str(tmp_path / "echo.yaml"), "-d", str(data),
                     "--model", "fake")  # fmt: skip
    assert code == 1
    assert "FAIL  dataset" in text
    code, text = run("patterns", "list")
    assert code == 0
    assert "certified" in text
    assert "calc: Compute an arithmetic expression exactly" in text
    code, text = run("patterns", "search", "arithmetic expression", "--json")
    [hit] = json.loads(text)
    assert hit["name"] == "calc"
    assert hit["kinds"] == ["tool"]
    code, text = run("patterns", "show", hit["pattern_id"][:10])
    assert code == 0
    assert "tool: arithmetic" in text
    code, text = run("patterns", "show", "no-such-pattern")
    assert code == 1
    assert "no pattern 'no-such-pattern'" in text
    code, text = run("failures", "--json")
    [cluster] = json.loads(text)
    assert cluster["origins"] == {"nursery": 1}
    assert cluster["examples"][0]["subject"] == "echo"
    code, text = run("stats", "--json")
    stats = json.loads(text)
    assert stats["patterns"] == 1
    assert stats["reused_patterns_share"] == 0.0
    code, text = run("stats")
    assert "patterns    1 stored" in text
