"""Every deterministic metric: scores in [0, 1], feedback, options, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evopipe.evaluate.metrics import (
    METRICS,
    Case,
    MetricEnv,
    MetricError,
    build_metric,
    build_metrics,
    parse_spec,
    split_specs,
)
from evopipe.evaluate.metrics.base import Score
from evopipe.evaluate.metrics.numeric import extract_number


async def _score(name: str, prediction: Any, expected: Any, **options: Any) -> Score:
    metric = build_metric(name, options, MetricEnv(python_allow=frozenset(_ALLOWED)))
    return await metric.score(Case(prediction, expected, {"q": "question?"}))


_ALLOWED = {
    "eval_scoring_fns:half",
    "eval_scoring_fns:with_feedback",
    "eval_scoring_fns:async_len",
    "eval_scoring_fns:out_of_range",
}


def test_registry_lists_every_metric() -> None:
    assert set(METRICS) == {
        "exact",
        "contains",
        "regex",
        "numeric",
        "f1",
        "json_schema",
        "json_fields",
        "python",
        "judge",
    }
    with pytest.raises(MetricError, match="unknown metric 'nope'; known: contains"):
        build_metric("nope")


def test_spec_parsing() -> None:
    assert split_specs("exact[ignore_case=false;strip=true],f1") == [
        "exact[ignore_case=false;strip=true]",
        "f1",
    ]
    assert parse_spec("numeric[abs_tol=0.5]") == ("numeric", {"abs_tol": "0.5"})
    assert [m.name for m in build_metrics("exact,contains")] == ["exact", "contains"]
    with pytest.raises(MetricError, match="missing closing"):
        parse_spec("exact[ignore_case=false")
    with pytest.raises(MetricError, match="not key=value"):
        parse_spec("exact[oops]")
    with pytest.raises(MetricError, match="metric 'exact': bogus"):
        build_metrics("exact[bogus=1]")


async def test_exact_with_normalisation_options() -> None:
    assert (await _score("exact", "  Card_Payment  ", "card_payment")).value == 1.0
    strict = await _score("exact", "Card", "card", ignore_case="false")
    assert strict.value == 0.0
    assert strict.feedback is not None
    assert "expected 'card'" in strict.feedback
    assert (await _score("exact", "hello, world!", "Hello world", ignore_punctuation=True)).value
    assert (await _score("exact", "a   b", "a b")).value == 1.0
    assert (await _score("exact", "a   b", "a b", collapse_whitespace=False)).value == 0.0
    assert (await _score("exact", " x ", "x", strip=False)).value == 0.0
    assert (await _score("exact", {"a": 1}, {"a": 1})).value == 1.0


async def test_contains() -> None:
    assert (await _score("contains", "The answer is Paris.", "paris")).value == 1.0
    miss = await _score("contains", "London", "Paris")
    assert miss.value == 0.0
    assert miss.feedback is not None


async def test_regex_from_option_and_from_expected() -> None:
    assert (await _score("regex", "order #1234", None, pattern=r"#\d{4}")).value == 1.0
    assert (await _score("regex", "order 12", None, pattern=r"\d+", mode="full")).value == 0.0
    assert (await _score("regex", "YES", "^yes$", ignore_case=True)).value == 1.0
    with pytest.raises(MetricError, match="bad pattern"):
        build_metric("regex", {"pattern": "("})


def test_extract_number() -> None:
    assert extract_number("I think 3 apples, so 12.") == 12.0
    assert extract_number("first 3 then 4", "first") == 3.0
    assert extract_number("total: 1,234.5 dollars") == 1234.5
    assert extract_number("-7") == -7.0
    assert extract_number("1e3") == 1000.0
    assert extract_number("no digits") is None
    assert extract_number(5) == 5.0
    assert extract_number(True) is None


async def test_numeric_with_tolerance() -> None:
    assert (await _score("numeric", "so the answer is 42", "42")).value == 1.0
    assert (await _score("numeric", "41.9", 42, abs_tol=0.2)).value == 1.0
    assert (await _score("numeric", "40", 42, rel_tol=0.1)).value == 1.0
    wrong = await _score("numeric", "40", 42)
    assert wrong.value == 0.0
    assert wrong.feedback == "expected 42, got 40"
    none = await _score("numeric", "none", 42)
    assert none.feedback is not None
    assert "no number" in none.feedback


async def test_token_f1() -> None:
    assert (await _score("f1", "the cat sat", "the cat sat")).value == 1.0
    partial = await _score("f1", "the cat", "the cat sat down")
    assert partial.value == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert (await _score("f1", "dog", "cat")).value == 0.0
    assert (await _score("f1", "", "")).value == 1.0


async def test_json_schema_from_option_file_and_expected(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    inline = json.dumps(schema)
    assert (await _score("json_schema", '{"n": 3}', None, schema=inline)).value == 1.0
    bad = await _score("json_schema", '{"n": "x"}', None, schema=inline)
    assert bad.value == 0.0
    assert bad.feedback is not None
    assert "n:" in bad.feedback
    notjson = await _score("json_schema", "nope", None, schema=inline)
    assert notjson.feedback is not None
    assert "not JSON" in notjson.feedback
    assert (await _score("json_schema", '```json\n{"n": 1}\n```', schema)).value == 1.0
    (tmp_path / "s.json").write_text(inline, encoding="utf-8")
    metric = build_metric("json_schema", {"schema": "s.json"}, MetricEnv(base_dir=str(tmp_path)))
    assert (await metric.score(Case({"n": 2}, None))).value == 1.0
    with pytest.raises(MetricError, match="invalid schema"):
        build_metric("json_schema", {"schema": '{"type": 12}'})


async def test_json_fields() -> None:
    want = {"name": "Ada", "age": 36, "city": "London"}
    got = json.dumps({"name": "ada", "age": 36, "city": "Paris"})
    score = await _score("json_fields", got, want)
    assert score.value == pytest.approx(2 / 3)
    assert score.feedback is not None
    assert "city" in score.feedback
    only = await _score("json_fields", got, want, fields="name|age")
    assert only.value == 1.0
    nested = await _score("json_fields", {"a": {"b": 1}}, {"a": {"b": 1}}, fields="a.b")
    assert nested.value == 1.0
    assert (await _score("json_fields", "not json", want)).value == 0.0
    assert (await _score("json_fields", {"age": True}, {"age": 1})).value == 0.0


async def test_python_metric_is_allowlisted() -> None:
    assert (await _score("python", "x", "y", function="eval_scoring_fns:half")).value
    fb = await _score("python", "ab", "ab", function="eval_scoring_fns:with_feedback")
    assert (fb.value, fb.feedback) == (1.0, "same")
    length = await _score("python", "abc", "", function="eval_scoring_fns:async_len")
    assert length.value == pytest.approx(0.3)
    with pytest.raises(MetricError, match="not in the allowlist"):
        build_metric("python", {"function": "os:getcwd"}, MetricEnv())
    metric = build_metric(
        "python",
        {"function": "eval_scoring_fns:out_of_range"},
        MetricEnv(python_allow=frozenset(_ALLOWED)),
    )
    with pytest.raises(MetricError, match="outside"):
        await metric.score(Case("a", "b"))


def test_score_must_be_in_unit_interval() -> None:
    with pytest.raises(MetricError):
        Score(1.5)
