"""The condition language: parsing, evaluation, references, errors with columns."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evopipe.spec.conditions import FUNCTIONS, Condition, parse_condition
from evopipe.spec.errors import ConditionError, EvopipeError
from evopipe.spec.templates import Ref

FUZZ = settings(max_examples=int(os.environ.get("EVOPIPE_FUZZ_EXAMPLES", "200")), deadline=None)

NS: dict[str, Any] = {
    "steps": {"x": {"output": {"label": "Bug", "score": 0.7, "tags": ["a", "b"]}}},
    "inputs": {"n": 3, "name": "Ada", "items": [1, 2, 3]},
    "item": {"k": "v", "list": [10, 20]},
    "loop": {"iteration": 2},
}


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("1 == 1", True),
        ("1 != 1", False),
        ("inputs.n > 2 and inputs.n <= 3", True),
        ("0 < inputs.n < 3", False),
        ("steps.x.output.label == 'Bug'", True),
        ('lower(steps.x.output.label) == "bug"', True),
        ('upper("a") == "A"', True),
        ("'a' in steps.x.output.tags", True),
        ("'c' not in steps.x.output.tags", True),
        ("not (inputs.n == 3)", False),
        ("not not true", True),
        ('item["k"] == "v"', True),
        ("item.list[1] == 20", True),
        ("item.list.0 == 10", True),
        ("item.list[-1]", 20),
        ("len(inputs.items) == 3", True),
        ("loop.iteration >= 2 or missing.name", True),
        ("false and missing.name", False),
        ('contains("hello", "ell")', True),
        ('startswith(inputs.name, "A") and endswith(inputs.name, "a")', True),
        ('int("7")', 7),
        ('float("2.5")', 2.5),
        ("str(3)", "3"),
        ("abs(-4)", 4),
        ("min(3, 1, 2)", 1),
        ("max(inputs.items)", 3),
        ('matches(steps.x.output.label, "^B.g$")', True),
        ("[1, 'a', null, true]", [1, "a", None, True]),
        ("{{ inputs.n == 3 }}", True),
        ("  {{inputs.name}}  ", "Ada"),
        ("-1.5e2", -150.0),
        ("'it\\'s' == \"it's\"", True),
        ("None == null", True),
        ("item.list[inputs.items[0]]", 20),
        ("'k' in item", True),
        ("steps.x.output.score > 0.5", True),
        ("(1)", 1),
        ("[]", []),
    ],
)
def test_evaluates(src: str, expected: Any) -> None:
    assert parse_condition(src).evaluate(NS) == expected


@pytest.mark.parametrize(
    ("src", "column", "fragment"),
    [
        ("a ==", 5, "expected a value"),
        ("a = 1", 3, "'=='"),
        ("foo(1)", 1, "unknown function 'foo'"),
        ('x == "abc', 6, "unterminated string"),
        ("a and", 6, "end of condition"),
        ("(a", 3, "expected ')'"),
        ("{{ a }} and {{ b }}", 1, "unexpected character '{'"),
        ("", 1, "empty condition"),
        ("a b", 3, "unexpected 'b'"),
        ("len(1, 2)", 1, "len() takes 1 argument"),
        ("a.", 3, "field name"),
        ("a @ b", 3, "unexpected character '@'"),
        ("{{ a == }}", 9, "expected a value"),
        ("[1, 2", 6, "expected ','"),
        ("'\\q'", 2, "unknown escape"),
        ("and", 1, "expected a value"),
    ],
)
def test_syntax_errors_have_columns(src: str, column: int, fragment: str) -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition(src)
    assert info.value.column == column
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("src", "name", "fragment"),
    [
        ("nope == 1", "nope", "unknown name 'nope'"),
        ("steps.y.output", "steps", "has no field 'y'"),
        ("steps.x.output.missing", "steps.x.output", "has no field 'missing'"),
        ("item.list[5]", "item.list", "has no index 5"),
        ("inputs.n.deeper", "inputs.n", "cannot read 'deeper'"),
    ],
)
def test_unknown_names_and_fields_are_named(src: str, name: str, fragment: str) -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition(src).evaluate(NS)
    assert info.value.name == name
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "src",
    [
        "'a' < 1",
        "1 in 2",
        "1 in 'abc'",
        "len(1)",
        "int('x')",
        "lower(1)",
        "matches('a', '(')",
        "min([])",
        "-'a'",
        "max(1, 'a')",
        "float('1e999') == int(float('inf'))",
    ],
)
def test_runtime_errors_are_condition_errors(src: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(src).evaluate(NS)


def test_references() -> None:
    cond = parse_condition('steps.a.output.label == item["k"] and len(inputs.xs) > loop.iteration')
    assert cond.references() == (
        Ref("steps", ("a", "output", "label")),
        Ref("item", ("k",)),
        Ref("inputs", ("xs",)),
        Ref("loop", ("iteration",)),
    )
    dynamic = parse_condition("steps.a.output[inputs.key].x")
    assert set(dynamic.references()) == {Ref("steps", ("a", "output")), Ref("inputs", ("key",))}
    assert parse_condition("1 < 2").is_constant()
    assert not parse_condition("x").is_constant()


def test_parse_is_cached_and_never_uses_eval() -> None:
    assert parse_condition("a == 1") is parse_condition("a == 1")
    # Python syntax that is not in the language stays an error, not a Python evaluation
    for src in ("__import__('os')", "(1).__class__", "[x for x in y]", "a if b else c", "1 + 1"):
        with pytest.raises(ConditionError):
            parse_condition(src).evaluate({"a": 1, "b": 1, "c": 1, "y": [], "x": 1})


def test_nesting_is_bounded() -> None:
    with pytest.raises(ConditionError, match="nested too deeply"):
        parse_condition("(" * 500 + "1" + ")" * 500)
    with pytest.raises(ConditionError, match="nested too deeply"):
        parse_condition("not " * 500 + "true")
    deep = parse_condition("a" + ".b" * 3000)
    with pytest.raises(ConditionError):
        deep.evaluate({"a": {}})


def test_functions_table_is_the_documented_whitelist() -> None:
    assert set(FUNCTIONS) == {
        "len",
        "lower",
        "upper",
        "contains",
        "startswith",
        "endswith",
        "int",
        "float",
        "str",
        "abs",
        "min",
        "max",
        "matches",
    }


# --------------------------------------------------------------------------- property tests

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json_values = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=10)


@pytest.mark.fuzz
@FUZZ
@given(_json_values)
def test_json_literals_round_trip(value: Any) -> None:
    assert parse_condition(json.dumps(value)).evaluate({}) == value


@st.composite
def _bool_expr(draw: st.DrawFn, depth: int = 0) -> tuple[str, bool]:
    """A random boolean expression over integers together with its expected value."""
    choice = draw(st.integers(0, 3 if depth < 4 else 0))
    if choice == 0:
        a, b = draw(st.integers(-5, 5)), draw(st.integers(-5, 5))
        op, fn = draw(
            st.sampled_from(
                [
                    ("==", a == b),
                    ("!=", a != b),
                    ("<", a < b),
                    ("<=", a <= b),
                    (">", a > b),
                    (">=", a >= b),
                ]
            )
        )
        return f"x.v{a + 5} {op} {b}", fn
    if choice == 1:
        text, value = draw(_bool_expr(depth + 1))
        return f"not ({text})", not value
    left, lv = draw(_bool_expr(depth + 1))
    right, rv = draw(_bool_expr(depth + 1))
    if choice == 2:
        return f"({left}) and ({right})", lv and rv
    return f"({left}) or ({right})", lv or rv


_X = {"x": {f"v{i}": i - 5 for i in range(11)}}


@pytest.mark.fuzz
@FUZZ
@given(_bool_expr())
def test_random_boolean_expressions(case: tuple[str, bool]) -> None:
    text, expected = case
    cond = parse_condition(text)
    assert cond.test(_X) is expected
    assert {r.root for r in cond.references()} <= {"x"}


_alphabet = st.sampled_from([*"abxyz01 .,[]()'\"=!<>-_{}\\@", "and", "or", "not", "in", "len("])


@pytest.mark.fuzz
@FUZZ
@given(st.lists(_alphabet, max_size=30).map("".join), _json_values)
def test_random_text_raises_only_condition_errors(text: str, value: Any) -> None:
    try:
        cond = parse_condition(text)
    except ConditionError as exc:
        column = exc.column
        assert column is not None
        assert 1 <= column <= len(text) + 1
        return
    assert isinstance(cond, Condition)
    ns = {"a": value, "b": {"x": value, "y": [value]}, "x": 1, "y": "s", "z": None}
    try:
        cond.evaluate(ns)
        cond.references()
    except EvopipeError:
        pass
