from __future__ import annotations

from evolve_helpers import SEED_YAML, seed_pipeline

from evopipe.evolve.genome import (
    candidate_id,
    levels,
    spec_diff,
    structure_signature,
    traits,
)
from evopipe.spec import spec_hash
from evopipe.spec.canonical import spec_from_json, spec_to_json

PARALLEL = """\
apiVersion: evopipe/v1
kind: Pipeline
name: par
inputs: {q: {type: string}}
outputs: {a: "{{ steps.join.output }}"}
steps:
  - {id: a, kind: llm, prompt: "A {{ inputs.q }}", model: "fake"}
  - {id: b, kind: llm, prompt: "B {{ inputs.q }}", model: "sim:latency_ms=1"}
  - {id: join, kind: llm, prompt: "{{ steps.a.output }} {{ steps.b.output }}"}
"""


def test_candidate_id_is_the_canonical_spec_hash() -> None:
    p = seed_pipeline()
    assert candidate_id(p) == spec_hash(p)
    assert candidate_id(seed_pipeline()) == candidate_id(p)


def test_spec_json_round_trip_keeps_kinds_and_id() -> None:
    p = seed_pipeline(PARALLEL)
    again = spec_from_json(spec_to_json(p))
    assert again == p
    assert candidate_id(again) == candidate_id(p)


def test_traits_count_steps_models_and_parallelism() -> None:
    t = traits(seed_pipeline(PARALLEL))
    assert t.steps == 3
    assert t.models == ("fake", "sim:latency_ms=1")
    assert t.parallelism == 2
    assert t.prompt_tokens > 0
    assert levels(seed_pipeline(PARALLEL)) == [["a", "b"], ["join"]]


def test_structure_signature_ignores_prompts_but_not_shape() -> None:
    p = seed_pipeline()
    reworded = seed_pipeline(
        SEED_PROMPT_CHANGED := seed_text().replace("with a number", "as a digit")
    )
    assert seed_text() != SEED_PROMPT_CHANGED
    assert structure_signature(p) == structure_signature(reworded)
    assert structure_signature(p) != structure_signature(seed_pipeline(PARALLEL))


def test_spec_diff_is_a_unified_diff_of_canonical_yaml() -> None:
    p = seed_pipeline()
    q = seed_pipeline(seed_text().replace("with a number", "as a digit"))
    diff = spec_diff(p, q)
    assert diff.startswith("--- a/")
    assert "-  prompt: " in diff or "-  prompt:" in diff
    assert "as a digit" in diff
    assert spec_diff(p, p) == ""


def seed_text() -> str:
    return SEED_YAML
