"""The loader: exact line/column of values and keys, both parsing paths agree, limits hold."""

from __future__ import annotations

import os
import textwrap
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from evopipe.spec import SpecError, loads, parse_yaml
from evopipe.spec._fastyaml import fast_parse
from evopipe.spec.loader import _Builder

FUZZ = settings(max_examples=int(os.environ.get("EVOPIPE_FUZZ_EXAMPLES", "200")), deadline=None)

DOC = textwrap.dedent(
    """\
    apiVersion: evopipe/v1
    name: hello
    inputs:
      who: {type: string, default: "wörld"}
    steps:
      - id: greet
        kind: llm
        prompt: |
          Say hello to {{ inputs.who }}.
        needs: [a, "b"]
        temperature: 0.5
    """
)


def test_value_and_key_positions() -> None:
    source = parse_yaml(DOC)
    assert source.locate(("steps", 0, "prompt")) == (8, 13)
    assert source.locate(("steps", 0, "prompt"), key=True) == (8, 5)
    assert source.locate(("steps", 0, "needs", 1)) == (10, 16)
    assert source.locate(("inputs", "who", "default")) == (4, 32)
    assert source.locate(("steps", 0, "kind")) == (7, 11)
    assert source.locate(("steps", 0)) == (6, 5)
    assert source.locate(("steps", 0, "nothere", 3)) == (6, 5)  # nearest located ancestor
    assert source.data["steps"][0]["temperature"] == 0.5


@pytest.mark.parametrize(
    ("text", "rule", "line", "column"),
    [
        ("a: 1\na: 2\n", "duplicate-key", 2, 1),
        ("a: [1,\n", "yaml-syntax", 2, 1),
        ("a: &x 1\nb: *y\n", "yaml-syntax", 2, 4),
        ("base: &b {x: 1}\nc:\n  <<: *b\n", "yaml-syntax", 3, 3),
        ("? [1, 2]\n: x\n", "yaml-syntax", 1, 3),
        ("a: !!python/name:os.system x\n", "yaml-syntax", 1, 4),
        ("a: 1\n---\nb: 2\n", "yaml-syntax", 2, 1),
        ("a:" + " [" * 150 + "]" * 150 + "\n", "yaml-syntax", 1, 204),
    ],
)
def test_malformed_yaml_is_located(text: str, rule: str, line: int, column: int) -> None:
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "f.yaml")
    first = info.value.diagnostics[0]
    assert (first.rule, first.line, first.column, first.path) == (rule, line, column, "f.yaml")


def test_alias_bombs_are_refused() -> None:
    bomb = "a0: &a0 [" + ", ".join(["x"] * 20) + "]\n"
    for i in range(1, 8):
        bomb += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 20) + "]\n"
    with pytest.raises(SpecError, match="more than"):
        parse_yaml(bomb)


def test_validation_errors_point_at_the_node() -> None:
    with pytest.raises(SpecError) as info:
        loads(DOC.replace("temperature: 0.5", "temperature: 9"))
    first = info.value.diagnostics[0]
    assert (first.rule, first.line, first.column, first.where) == (
        "bad-type",
        11,
        18,
        "steps[0].temperature",
    )


def _slow(text: str) -> tuple[Any, Any, Any]:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    builder = _Builder("<t>")
    data = builder.build(node, ()) if node is not None else None
    assert not builder.problems
    return data, builder.values, builder.keys


_keys = st.text(alphabet="abcXY_-1 :é#'\"", min_size=1, max_size=6)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["yes", "No", "~", "0x1F", "1e3", "2026-11-22", "0o17", ".inf", "{{ a }}"])
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.fuzz
@FUZZ
@given(_values, st.booleans(), st.sampled_from([None, "'", '"', "|"]))
def test_fast_and_general_paths_agree(value: Any, flow: bool, style: str | None) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, default_style=style, allow_unicode=True)
    fast = fast_parse(text)
    if fast is not None:
        assert fast == _slow(text)
