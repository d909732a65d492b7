"""Operators that need nothing from the operator model (clause table, format constraint, demo
search), and the honest flag when an LLM operator's output was unusable."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from evolve_helpers import DATA, SpecEvaluator, seed_pipeline

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource
from evopipe.evolve import loop
from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.fitness import EvalRecord, ExampleResult
from evopipe.evolve.operator_health import degenerate, operator_model_report
from evopipe.evolve.operators import OPERATORS, OperatorContext
from evopipe.evolve.operators._answers import AnswerProfile, profile
from evopipe.evolve.operators.clause import CLAUSES
from evopipe.evolve.operators.demo_select import select_demos
from evopipe.evolve.repository import EvolutionRepository, Proposal
from evopipe.evolve.validity import check_offspring
from evopipe.spec.kinds import ExtractStep


def record(rows: list[tuple[str, str, str]]) -> EvalRecord:
    """(question, parent output, expected) → a feedback record scored by exact match."""
    return EvalRecord(
        f"train[:{len(rows)}]",
        tuple(
            ExampleResult(f"e{i}", float(out == want), {"question": q}, out, want)
            for i, (q, out, want) in enumerate(rows)
        ),
    )


NUMBERS = record([("I have 2 cats.", "I think there are two cats", "2"), ("1 dog", "1", "1")])
YES_NO = record(
    [
        (f"Is {a} > {b}?", "Maybe so, let me think", "Yes" if a > b else "No")
        for a, b in [(3, 1), (1, 3), (5, 2), (2, 9)]
    ]
)
WORDS = record([("sort: b a", "a and b", "a b"), ("sort: d c e", "c d e", "c d e")])


def ctx(feedback: EvalRecord | None, seed: int = 0) -> OperatorContext:
    return OperatorContext(rng=random.Random(seed), feedback=feedback)


def test_profiles_come_from_the_expected_answers() -> None:
    assert profile(NUMBERS) == AnswerProfile("number", integer=True, rambling=True)
    yes_no = profile(YES_NO)
    assert yes_no is not None
    assert (yes_no.kind, yes_no.choices, yes_no.rambling) == ("choice", ("Yes", "No"), True)
    words = profile(WORDS)
    assert words is not None
    assert (words.kind, words.words) == ("text", 3)
    assert profile(None) is None


@pytest.mark.parametrize(
    ("text", "fits", "misfits"),
    [
        ("Answer with a single number", [NUMBERS], [YES_NO, WORDS]),
        ("digits", [NUMBERS], [YES_NO, WORDS]),
        ("exactly one of", [YES_NO], [NUMBERS, WORDS]),
        ("one word only", [YES_NO], [NUMBERS, WORDS]),
        ("no explanation", [NUMBERS, YES_NO], []),
        ("single spaces", [WORDS], [NUMBERS, YES_NO]),
        ("carefully", [NUMBERS, YES_NO, WORDS], []),
    ],
)
def test_every_clause_applies_where_it_should(
    text: str, fits: list[EvalRecord], misfits: list[EvalRecord]
) -> None:
    (clause,) = [c for c in CLAUSES if text in c.text]
    for feedback in fits:
        answers = profile(feedback)
        assert answers is not None
        assert clause.applies(answers), (text, answers)
    for feedback in misfits:
        answers = profile(feedback)
        assert answers is not None
        assert not clause.applies(answers), (text, answers)


async def test_clause_appends_a_fitting_clause_with_the_choices() -> None:
    seen = set()
    for seed in range(12):
        child = await OPERATORS["clause"].apply(seed_pipeline(), ctx(YES_NO, seed))
        assert child is not None
        added = child.steps[0].prompt.removeprefix(seed_pipeline().steps[0].prompt).strip()  # type: ignore[union-attr]
        seen.add(added)
    assert "Answer with exactly one of: Yes, No." in seen
    assert not any("number" in s for s in seen)
    assert await OPERATORS["clause"].apply(seed_pipeline(), ctx(None)) is None


async def test_format_constraint_makes_an_extract_step_with_the_answer_schema() -> None:
    child = await OPERATORS["format_constraint"].apply(seed_pipeline(), ctx(YES_NO))
    assert child is not None
    (step,) = child.steps
    assert isinstance(step, ExtractStep)
    assert step.output is not None
    assert step.output.schema_ == {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": ["Yes", "No"]}},
        "required": ["answer"],
    }
    assert child.outputs == {"answer": "{{ steps.answer.output.answer }}"}
    assert check_offspring(child).verdict == "ok"
    number = await OPERATORS["format_constraint"].apply(seed_pipeline(), ctx(NUMBERS))
    assert number is not None
    assert number.steps[0].output is not None
    assert number.steps[0].output.schema_["properties"]["answer"] == {"type": "integer"}  # type: ignore[index]
    assert await OPERATORS["format_constraint"].apply(seed_pipeline(), ctx(WORDS)) is None
    assert await OPERATORS["format_constraint"].apply(number, ctx(NUMBERS)) is None


def test_demo_search_covers_the_answers_and_the_failures() -> None:
    feedback = record(
        [
            ("the red fox jumps", "x", "A"),
            ("the red fox runs", "A", "A"),
            ("a blue whale swims", "x", "B"),
            ("a blue whale dives", "B", "B"),
            ("green frog", "C", "C"),
        ]
    )
    picked = select_demos(feedback.examples, 2)
    # two distinct answers, and the examples nearest the two failures
    assert {str(e.expected) for e in picked} == {"A", "B"}
    assert [e.example_id for e in picked] == ["e0", "e2"]
    assert select_demos(feedback.examples, 2) == picked


async def test_demo_select_writes_reference_answers_as_demos() -> None:
    child = await OPERATORS["demo_select"].apply(seed_pipeline(), ctx(NUMBERS))
    assert child is not None
    demos = child.steps[0].demos  # type: ignore[union-attr]
    assert [d.output for d in demos] == ["2", "1"]
    assert "I have 2 cats." in demos[0].input


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("Count the objects in the question and answer with a number.", "", "empty"),
        ("Count the objects in the question and answer with a number.", "Count.", "shrank"),
        (
            "Count the objects and answer.",
            "Bananas are yellow fruits grown in warm places.",
            "unrelated",
        ),
        (
            "Count the objects and answer.",
            "Count the objects and answer. " + "the the the " * 6,
            "repetitive",
        ),
        ("Count the objects and answer.", "Count the objects and answer. " * 40, "ballooned"),
        (
            "Count the objects and answer.",
            "Count every object listed, then answer with a number.",
            None,
        ),
    ],
)
def test_degenerate_rewrites_are_recognised(old: str, new: str, why: str | None) -> None:
    assert degenerate(old, new) == why


def _proposal(slot: int, outcome: str, spec: Any, calls: int = 1) -> Proposal:
    return Proposal(1, slot, "reflect", ("p",), outcome, None, spec, None, calls, 0.0)


def test_operator_model_report_flags_unusable_output() -> None:
    parent = seed_pipeline()
    good = parent.model_copy(
        update={
            "steps": [
                parent.steps[0].model_copy(
                    update={"prompt": parent.steps[0].prompt + " Use digits."}
                )
            ]
        }  # type: ignore[union-attr]
    )
    garbled = parent.model_copy(
        update={
            "steps": [
                parent.steps[0].model_copy(update={"prompt": "zzz qqq www {{ inputs.question }}"})
            ]
        }
    )
    specs = {"p": parent}
    healthy = operator_model_report(
        [_proposal(0, "ok", good), _proposal(1, "none", None, calls=0)], specs
    )
    assert healthy == {"proposals": 1, "usable": 1, "unusable": {}, "suspect": {}, "flag": False}
    bad = operator_model_report(
        [_proposal(0, "ok", good), _proposal(1, "ok", garbled), _proposal(2, "failed", None)], specs
    )
    assert bad["usable"] == 1
    assert bad["suspect"] == {"unrelated": 1}
    assert bad["unusable"] == {"failed": 1}
    assert bad["flag"] is True


async def test_the_run_summary_carries_the_operator_model_report(repo: EvolutionRepository) -> None:
    async def empty_runner(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"prompt": "", "__usage__": {"calls": 1, "cost_usd": 0.0}}

    config = EvolveConfig(
        generations=1,
        population=2,
        offspring=2,
        seed=0,
        operators=("instruction",),
        tries_per_slot=1,
    )
    result = await loop.start(
        seed_pipeline(),
        repo=repo,
        evaluator=SpecEvaluator(),
        config=config,
        run_operator=empty_runner,
    )
    report = result.summary["meta"]["operator_model"]
    assert report["proposals"] == 2
    assert report["unusable"] == {"none": 2}
    assert report["flag"] is True


def test_operator_model_can_be_any_configured_endpoint(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[endpoints.strong]\nbase_url = "http://127.0.0.1:9/v1"\nmodels = ["big"]\n')
    settings = Settings.load(tmp_path, environ={}, user_config=str(config), persist=False)
    with App(settings, environ={}) as app:
        source = EvalSource(str(DATA), "exact", mapping={"question": "input"})
        _, runner = app.evolutions._parts(source, tmp_path, "strong:big")
        assert runner.model == "strong:big"
        models = runner.services.models
        assert "strong" in models.providers
        # built (an OpenAI-compatible adapter for the configured endpoint), never called
        assert models.get("strong:big") is models.get("strong:big")
