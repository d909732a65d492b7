"""A ``generate`` step that runs its result passes inputs under its own names: genesis makes
the generated pipeline accept them when the mismatch is one name for one name."""

from __future__ import annotations

from pathlib import Path

import pytest

from evopipe.app import App, Settings
from evopipe.genesis.conform import conform_inputs
from evopipe.spec import loads

REPO = Path(__file__).resolve().parents[2]
TWO = """apiVersion: evopipe/v1
name: t
inputs: {text: {type: string}, tone: {type: string, default: calm}}
outputs: {out: "{{ steps.a.output }}"}
steps:
  - {id: a, kind: llm, prompt: "Say {{ inputs.text }} in a {{ inputs.tone }} tone; {{inputs.text}}"}
"""


def test_one_unmatched_input_is_renamed_everywhere_it_is_read() -> None:
    fixed = conform_inputs(loads(TWO).pipeline, ["sentence"])
    assert set(fixed.inputs) == {"sentence", "tone"}
    prompt = fixed.steps[0].prompt
    assert prompt.count("inputs.sentence") == 2
    assert "inputs.text" not in prompt


@pytest.mark.parametrize("given", [["text"], ["a", "b"], [], ["sentence", "text"]])
def test_anything_but_a_one_to_one_mismatch_is_left_alone(given: list[str]) -> None:
    pipeline = loads(TWO).pipeline
    assert conform_inputs(pipeline, given) is pipeline


def test_the_generate_example_runs_on_the_fake_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    settings = Settings.load(tmp_path, db=str(tmp_path / "g.db"), model="fake")
    with App(settings) as app:
        result = app.runs.run_sync(REPO / "examples" / "kinds" / "generate.yaml")
    assert result.ok, result.error
    assert result.outputs["result"]["outputs"]
