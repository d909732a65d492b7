"""Many files are checked by worker processes; the reports must not depend on that."""

from pathlib import Path

from evopipe.check import CheckOptions
from evopipe.check.report import PARALLEL_MIN_FILES, validate_paths

GOOD = """apiVersion: evopipe/v1
name: p{n}
inputs:
  text: {{type: string}}
steps:
  - id: a
    kind: llm
    prompt: "Say {{{{ inputs.text }}}}"
"""
BAD = """apiVersion: evopipe/v1
name: p{n}
steps:
  - id: a
    kind: llm
    prompt: "Say {{{{ steps.nope.output }}}}"
    bogus: {n}
"""


def test_parallel_reports_equal_sequential_in_input_order(tmp_path: Path) -> None:
    for n in range(PARALLEL_MIN_FILES + 6):
        text = (BAD if n % 7 == 0 else GOOD).format(n=n)
        (tmp_path / f"f{n:03d}.yaml").write_text(text, encoding="utf-8")
    options = CheckOptions(known_model=lambda model_id: model_id == "fake")  # a closure
    sequential = validate_paths([tmp_path], options=options, workers=1)
    parallel = validate_paths([tmp_path], options=options, workers=2)
    assert parallel == sequential
    assert [r.path for r in parallel] == sorted(str(p) for p in tmp_path.glob("*.yaml"))
    bad = [r for r in parallel if not r.valid]
    assert len(bad) == len(range(0, PARALLEL_MIN_FILES + 6, 7))
    assert {d.rule for r in bad for d in r.diagnostics} >= {"unknown-key"}
