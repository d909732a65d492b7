"""generate(): the fake model on 30 requests, the repair loop on scripted models, failures."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from evopipe.check import check_text
from evopipe.engine import Services
from evopipe.genesis import GenerationError, agenerate
from evopipe.genesis.validate import dry_run
from evopipe.models import Capabilities, ModelHub, ModelRequest, ModelResponse
from evopipe.models.testing import FakeModel, ScriptedModel
from evopipe.spec import loads

ANALYSIS = {
    "functionality": "review a diff",
    "pattern": "code-review-diff",
    "steps": [{"id": "summarise", "purpose": "summarise"}, {"id": "critique", "purpose": "x"}],
    "model": "default",
}
_OBJ = {"type": "object"}


def _schema(**props: str) -> dict[str, Any]:
    return {
        "schema": {
            "type": "object",
            "properties": {k: {"type": v} for k, v in props.items()},
            "required": list(props),
        }
    }


GOOD = {
    "name": "diff-review",
    "description": "Summarise a diff, then critique it.",
    "inputs": {"diff": {"type": "string"}},
    "steps": [
        {
            "id": "summarise",
            "kind": "extract",
            "prompt": "Summarise this diff: {{ inputs.diff }}",
            "output": _schema(summary="string"),
        },
        {
            "id": "critique",
            "kind": "extract",
            "prompt": "Critique: {{ steps.summarise.output.summary }}",
            "output": _schema(points="array"),
        },
    ],
    "outputs": {"review": "{{ steps.critique.output.points }}"},
}

# a data cycle (summarise ↔ critique) and a reference to a step that does not exist
BAD = copy.deepcopy(GOOD)
BAD["steps"][0]["prompt"] = "Summarise {{ inputs.diff }} given {{ steps.critique.output.points }}"
BAD["steps"][1]["prompt"] = (
    "Critique {{ steps.summarise.output.summary }} with {{ steps.context_loader.output.text }}"
)

DRAFT_PROMPT = "Write the pipeline for this request as JSON"
ANALYSE_PROMPT = "Decide what the pipeline does"
REPAIR_PROMPT = "has problems"


def _hub() -> Services:
    return Services(models=ModelHub())


def assert_valid_and_runnable(yaml_text: str) -> None:
    errors = [d for d in check_text(yaml_text, profile="generated") if d.severity == "error"]
    assert errors == [], [d.format() for d in errors]


async def test_thirty_requests_with_fake_model_all_valid_and_dry_run(
    requests_30: list[str],
) -> None:
    assert len(requests_30) == 30
    for request in requests_30:
        result = await agenerate(request, model=FakeModel(), services=_hub())
        assert_valid_and_runnable(result.yaml)
        reloaded = loads(result.yaml).pipeline
        run = await dry_run(reloaded)
        assert run.ok, (request, run.error)
        assert result.rounds[-1].valid
        assert result.pipeline.metadata["origin"] == "genesis"
        assert set(result.schemas) == {
            f"{s.id}.schema.json" for s in reloaded.steps if s.output and s.output.schema_
        }


async def test_repair_loop_fixes_cycle_and_unknown_reference() -> None:
    model = ScriptedModel(
        rules={ANALYSE_PROMPT: ANALYSIS, DRAFT_PROMPT: BAD, REPAIR_PROMPT: GOOD},
        model_id="scripted",
    )
    result = await agenerate("Review a diff", model=model, services=_hub(), strategy="draft")
    first, second = result.rounds
    rules = {d.rule for d in first.diagnostics}
    assert "dag-cycle" in rules or "undeclared-dependency" in rules
    assert "unknown-step" in rules or "template-unknown-ref" in rules
    assert not first.valid
    assert second.source == "repair"
    assert second.valid
    assert not result.first_try_valid
    assert [s.id for s in result.pipeline.steps] == ["summarise", "critique"]
    assert_valid_and_runnable(result.yaml)
    repair_prompt = model.calls[-1].messages[-1].content
    assert "context_loader" in repair_prompt  # the diagnostics were fed back
    assert "[unknown-step]" in repair_prompt or "[template-unknown-ref]" in repair_prompt


async def test_deterministic_repairs_alone_fix_needs_cycle_and_unknown_input() -> None:
    draft = copy.deepcopy(GOOD)
    draft["steps"][0]["needs"] = ["critique"]  # a cycle no template requires
    draft["steps"][1]["prompt"] += " in {{ inputs.language }}"  # undeclared input
    model = ScriptedModel(rules={ANALYSE_PROMPT: ANALYSIS, DRAFT_PROMPT: draft})
    result = await agenerate("Review a diff", model=model, services=_hub(), strategy="draft")
    assert len(result.rounds) == 1
    only = result.rounds[0]
    assert only.first_diagnostics
    assert {"break-cycles", "declare-inputs"} <= {a.repair for a in only.repairs}
    assert "language" in result.pipeline.inputs
    assert_valid_and_runnable(result.yaml)


async def test_valid_first_draft_counts_as_first_try() -> None:
    model = ScriptedModel(rules={ANALYSE_PROMPT: ANALYSIS, DRAFT_PROMPT: GOOD})
    result = await agenerate("Review a diff", model=model, services=_hub())
    assert result.first_try_valid
    assert result.rounds[0].repairs == []
    assert result.rounds_needed == 1
    assert result.pipeline.limits.max_tokens == 40000  # genesis sets the budget
    assert result.analysis == ANALYSIS


async def test_model_that_never_drafts_a_valid_spec_raises(tmp_path: Any) -> None:
    model = ScriptedModel(
        rules={ANALYSE_PROMPT: ANALYSIS, DRAFT_PROMPT: BAD, REPAIR_PROMPT: BAD}, model_id="s"
    )
    with pytest.raises(GenerationError) as info:
        await agenerate(
            "Review a diff", model=model, services=_hub(), strategy="draft", max_rounds=2
        )
    err = info.value
    assert len(err.rounds) == 3
    assert err.diagnostics
    assert "no valid pipeline after 3 round(s)" in str(err)
    assert all(not r.valid for r in err.rounds)


async def test_auto_strategy_falls_back_to_assembling_a_pattern() -> None:
    model = ScriptedModel(rules={ANALYSE_PROMPT: ANALYSIS, DRAFT_PROMPT: BAD, REPAIR_PROMPT: BAD})
    result = await agenerate("Review a pull request diff", model=model, services=_hub())
    assert result.source == "assemble"
    assert result.pattern == "code-review-diff"
    assert result.rounds_needed == 5  # draft + 3 repairs + assembly
    assert_valid_and_runnable(result.yaml)


async def test_garbage_model_raises_with_diagnostics() -> None:
    model = ScriptedModel(fallback="I cannot do JSON, sorry.", model_id="s")
    with pytest.raises(GenerationError) as info:
        await agenerate("Review a diff", model=model, services=_hub(), max_rounds=0)
    assert info.value.diagnostics[0].rule == "model-failed"


async def test_retrieval_fallback_adapts_the_best_pattern_and_keeps_the_failed_rounds() -> None:
    model = ScriptedModel(fallback="I cannot do JSON, sorry.", model_id="s")
    result = await agenerate(
        "Review a code diff", model=model, services=_hub(), max_rounds=0, retrieval_fallback=True
    )
    assert result.pattern == "code-review-diff"
    assert result.rounds[0].diagnostics[0].rule == "model-failed"
    assert result.rounds[-1].valid
    assert_valid_and_runnable(result.yaml)


async def test_empty_request_is_refused() -> None:
    with pytest.raises(GenerationError):
        await agenerate("   ", model=FakeModel(), services=_hub())


class _LocalLike:
    """A model flagged local (like the embedded SmolLM2) that can only answer the analysis."""

    id = "local:tiny"
    capabilities = Capabilities(json_schema=True, local=True, network=False)

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        return ModelResponse(text=json.dumps(ANALYSIS), model=self.id, data=ANALYSIS)


async def test_embedded_local_model_assembles_from_its_decisions() -> None:
    model = _LocalLike()
    result = await agenerate("Review a pull request diff", model=model, services=_hub())
    assert model.calls == 1  # one small structured decision, no whole-spec draft
    assert result.source == "assemble"
    assert result.pattern == "code-review-diff"
    assert result.analysis == ANALYSIS
    assert_valid_and_runnable(result.yaml)
