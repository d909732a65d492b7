"""The pattern library: every pattern passes the `generated` profile and dry-runs on `fake`."""

from __future__ import annotations

import pytest

from evopipe.check import check_file
from evopipe.genesis.patterns import load_patterns
from evopipe.genesis.validate import dry_run
from evopipe.spec.kinds import LlmStep

PATTERNS = load_patterns()

# use case of the issue → the pattern that covers it
USE_CASES = {
    "analyse/summarise text": "summarise-text",
    "extract structured data": "extract-structured-data",
    "code review of a diff": "code-review-diff",
    "bug triage": "bug-triage",
    "feature planning": "feature-planning",
    "ETL of CSV/JSON with validation": "etl-validate",
    "CI/CD workflow generation": "cicd-workflow",
    "incident analysis from logs": "incident-analysis",
    "research synthesis with a critic loop": "research-synthesis",
    "onboarding checklist": "onboarding-checklist",
    "experiment design": "experiment-design",
    "multi-model debate/ensemble": "debate-ensemble",
    "translate-and-verify": "translate-verify",
    "classification with confidence routing": "classify-route",
    "document Q&A": "document-qa",
}


def test_library_covers_every_use_case() -> None:
    names = {p.name for p in PATTERNS}
    assert len(PATTERNS) >= 15
    assert set(USE_CASES.values()) <= names
    kinds = {p.name: {s.kind for s in p.pipeline.steps} for p in PATTERNS}
    assert "loop" in kinds["research-synthesis"]
    assert "switch" in kinds["classify-route"]
    assert "map" in kinds["etl-validate"]


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_pattern_has_description_tags_and_contracts(pattern) -> None:  # type: ignore[no-untyped-def]
    assert pattern.path.stem == pattern.name
    assert len(pattern.description) > 20
    assert len(pattern.tags) >= 4
    for step in pattern.pipeline.steps:
        if isinstance(step, LlmStep):
            assert step.output is not None, step.id
            assert step.output.schema_ is not None, step.id


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_pattern_passes_generated_profile(pattern) -> None:  # type: ignore[no-untyped-def]
    diagnostics = check_file(pattern.path, profile="generated")
    assert [d.format() for d in diagnostics if d.severity == "error"] == []


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
async def test_pattern_dry_runs_with_fake_model(pattern) -> None:  # type: ignore[no-untyped-def]
    run = await dry_run(pattern.pipeline)
    assert run.ok, run.error
    assert set(run.outputs) == set(pattern.pipeline.outputs)
