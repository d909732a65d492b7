"""The LLM judge: shipped pipeline, pinned hash, scripted grades through the real engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evopipe.engine import Services
from evopipe.evaluate import MetricEnv, build_metric, build_metrics, evaluate, from_rows
from evopipe.evaluate.metrics import Case, MetricError
from evopipe.evaluate.metrics.judge import JUDGE_HASH, JUDGE_PATH, JudgeChangedError, load_judge
from evopipe.models import ModelHub
from evopipe.models.testing import ScriptedModel
from evopipe.spec import Pipeline, load_file, spec_hash


def _services(model: ScriptedModel) -> Services:
    hub = ModelHub()
    hub.add(model, "scripted")
    return Services(models=hub)


def _grader() -> ScriptedModel:
    return ScriptedModel(
        rules={
            r"Candidate answer:\s*Paris": {"score": 10, "feedback": "correct"},
            r"Candidate answer:\s*Lyon": {"score": 3, "feedback": "Lyon is not the capital"},
        },
        model_id="scripted",
    )


def test_shipped_judge_is_pinned_by_hash() -> None:
    judge = load_judge()
    assert spec_hash(judge) == JUDGE_HASH
    assert spec_hash(load_file(JUDGE_PATH).pipeline) == JUDGE_HASH
    assert judge.name == "evopipe.judge"
    assert "rubric" in judge.inputs


def test_changed_judge_is_refused_unless_its_hash_is_given(tmp_path: Path) -> None:
    copy = tmp_path / "judge.yaml"
    shutil.copy(JUDGE_PATH, copy)
    with pytest.raises(JudgeChangedError, match="needs its hash"):
        load_judge(copy)
    assert spec_hash(load_judge(copy, JUDGE_HASH)) == JUDGE_HASH
    edited = copy.read_text(encoding="utf-8").replace("strict, fair grader", "lenient grader")
    copy.write_text(edited, encoding="utf-8")
    with pytest.raises(JudgeChangedError, match="refusing a changed judge"):
        load_judge(copy, JUDGE_HASH)
    new_hash = spec_hash(load_file(copy).pipeline)
    assert load_judge(copy, new_hash).steps[0].system is not None
    with pytest.raises(JudgeChangedError):
        build_metric(
            "judge",
            {"judge": str(copy), "judge_hash": JUDGE_HASH},
            MetricEnv(services=_services(_grader())),
        )


def test_judge_needs_services() -> None:
    with pytest.raises(MetricError, match="needs services"):
        build_metric("judge")


async def test_judge_scores_with_feedback_on_a_scripted_model() -> None:
    grader = _grader()
    metric = build_metric("judge", {"model": "scripted"}, MetricEnv(services=_services(grader)))
    good = await metric.score(Case("Paris", "Paris", {"question": "Capital of France?"}))
    assert good.value == 1.0
    assert good.feedback == "correct"
    bad = await metric.score(Case("Lyon", "Paris", {"question": "Capital of France?"}))
    assert bad.value == pytest.approx(0.3)
    assert bad.feedback == "Lyon is not the capital"
    prompt = "\n".join(m.content for m in grader.calls[-1].messages)
    assert "Capital of France?" in prompt
    assert "Reference answer:\nParis" in prompt


async def test_judge_rubric_reaches_the_model_and_bad_grades_fail_cleanly() -> None:
    model = ScriptedModel(
        rules={r"ONLY-RUBRIC": {"score": 7, "feedback": "ok"}},
        model_id="scripted",
        fallback={"error": "500"},
    )
    services = _services(model)
    metric = build_metric(
        "judge", {"model": "scripted", "rubric": "ONLY-RUBRIC"}, MetricEnv(services=services)
    )
    score = await metric.score(Case("x", "y"))
    assert score.value == pytest.approx(0.7)
    plain = build_metric("judge", {"model": "scripted"}, MetricEnv(services=services))
    with pytest.raises(MetricError, match="judge failed"):
        await plain.score(Case("x", "y"))


async def test_evaluation_with_the_judge_counts_its_calls(calc: Pipeline) -> None:
    grader = ScriptedModel(
        rules={r"Candidate answer:\s*2\b": {"score": 10, "feedback": "right"}},
        model_id="scripted",
        fallback={"score": 0, "feedback": "wrong"},
    )
    services = _services(grader)
    ds = from_rows([{"expr": "1+1", "expected": "2"}, {"expr": "2+2", "expected": "5"}])
    metrics = build_metrics("judge[model=scripted]", MetricEnv(services=services))
    report = await evaluate(calc, ds, metrics, services=services, split="all")
    scores = sorted(r.score for r in report.examples)
    assert scores == [0.0, 1.0]
    assert report.judge_calls == 2
    wrong = next(r for r in report.examples if r.score == 0.0)
    assert wrong.feedback is not None
    assert "wrong" in wrong.feedback


def test_shipped_judge_and_example_pipeline_pass_the_checker() -> None:
    from evopipe.check import check_file

    example = Path(__file__).resolve().parents[2] / "examples" / "eval" / "classify.yaml"
    for path in (JUDGE_PATH, example):
        errors = [d for d in check_file(path) if d.severity == "error"]
        assert errors == [], [d.format() for d in errors]
