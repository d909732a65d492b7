"""Fuzzing the template renderer and hostile YAML shapes: only evopipe's own errors come out.

The loader, the checker and the condition language are fuzzed in tests/check/test_check_fuzz.py
and tests/spec/ (all marked ``fuzz``). Scaled by ``EVOPIPE_FUZZ_EXAMPLES`` (default 200;
``make fuzz`` runs 10,000).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evopipe.check import check_text
from evopipe.engine.templates import Renderer
from evopipe.spec import EvopipeError, loads
from evopipe.spec.conditions import parse_condition
from evopipe.spec.errors import TemplateError

FUZZ = settings(
    max_examples=int(os.environ.get("EVOPIPE_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMESPACE: dict[str, Any] = {
    "inputs": {"text": "Hello", "n": 3, "items": [1, "two", {"k": None}], "values": {"a": 1}},
    "steps": {"a": {"output": {"label": "x", "list": [1, 2, 3], "nested": {"deep": [{}]}}}},
    "item": "it",
    "index": 0,
    "loop": {"iteration": 1, "previous": None},
}

# Pieces of Jinja syntax (valid, half-valid and hostile), glued together at random.
_pieces = st.sampled_from(
    [
        "{{", "}}", "{%", "%}", "{#", "#}", " ", "inputs", "steps", ".a", ".output", ".label",
        "[0]", "['k']", "[-1]", "|", "upper", "length", "tojson", "default('d')", "attr('x')",
        "join(',')", "int", "round", "(", ")", ",", "+", "-", "*", "**", "/", "//", "%", "~",
        "==", " and ", " or ", " not ", " if ", " else ", "for x in ", "range(", "endfor",
        "if ", "endif", "set y = ", "endset", "macro m()", "endmacro", "call ", "include 'x'",
        "import 'x' as y", "extends 'x'", "block b", "endblock", "filter upper", "endfilter",
        "raw", "endraw", "'s'", '"q"', "1", "0", "-1", "10", "999999999", "1e308", "None",
        "true", "[]", "{}", "lipsum", "cycler", "joiner", "namespace", "range", "dict",
        "__class__", "__mro__", "__subclasses__()", "__globals__", "__init__", "__builtins__",
        "format", "'{0.__class__}'.format(item)", "'%s' % item", "item.items", "inputs.values",
        "loop.iteration", "loop.previous", "index", "self", "caller", "varargs", "\n", "é",
        "\x00",
    ]
)  # fmt: skip

_templates = st.lists(_pieces | st.text(max_size=4), max_size=25).map("".join)


def _render_only_evopipe_errors(renderer: Renderer, template: Any) -> None:
    with contextlib.suppress(EvopipeError):
        renderer.render(template, NAMESPACE, "fuzz")


@pytest.mark.fuzz
@FUZZ
@given(_templates)
def test_random_templates_render_or_raise_template_errors(text: str) -> None:
    renderer = Renderer()
    _render_only_evopipe_errors(renderer, text)
    _render_only_evopipe_errors(renderer, "{{ " + text + " }}")
    _render_only_evopipe_errors(renderer, {"k": ["{% if true %}" + text + "{% endif %}"]})


@pytest.mark.fuzz
@FUZZ
@given(st.text(max_size=60))
def test_arbitrary_text_as_a_template(text: str) -> None:
    _render_only_evopipe_errors(Renderer(), text)
    _render_only_evopipe_errors(Renderer(), "{{" + text)


_cond_pieces = st.sampled_from(
    [
        "steps", "inputs", "item", ".a", ".output", ".label", "[0]", "['k']", "[", "]", "(",
        ")", ",", " == ", " != ", " < ", " >= ", " in ", " not in ", " and ", " or ", "not ",
        "-", "len(", "matches(", "lower(", "contains(", "1", "1.5", "1e400", "'x'", '"y"',
        "true", "null", "{{", "}}", "__class__", ".0", "x", " ", "\\", "'", '"',
    ]
)  # fmt: skip


@pytest.mark.fuzz
@FUZZ
@given(st.lists(_cond_pieces | st.text(max_size=3), max_size=30).map("".join))
def test_random_conditions_parse_and_evaluate_or_raise_condition_errors(text: str) -> None:
    try:
        condition = parse_condition(text)
        condition.evaluate(NAMESPACE)
        condition.references()
    except EvopipeError:
        pass


# Hostile document shapes: deep nesting in flow and block style, anchors, long scalars.
_shapes = st.sampled_from(
    [
        lambda n: "[" * n + "]" * n,
        lambda n: "[" * n,
        lambda n: "{a: " * n + "1" + "}" * n,
        lambda n: "- " * n + "x",
        lambda n: "".join(" " * i + "k:\n" for i in range(min(n, 1500))),
        lambda n: "a: &a [1]\n" + "".join(f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}]\n"
                                          for i in range(min(n, 400))),
        lambda n: "steps: " + "[{id: a, kind: pipeline, pipeline: " * min(n, 300)
        + "x" + "}]" * min(n, 300),
        lambda n: "name: " + "x" * n,
        lambda n: "'" + "\\" * n,
    ]
)  # fmt: skip


@pytest.mark.fuzz
@FUZZ
@given(_shapes, st.integers(1, 60_000), st.sampled_from(["", "apiVersion: evopipe/v1\n"]))
def test_hostile_yaml_shapes_fail_cleanly(shape: Any, n: int, prefix: str) -> None:
    text = prefix + shape(n)
    with contextlib.suppress(EvopipeError):
        loads(text, "deep.yaml")
    for d in check_text(text, "deep.yaml"):
        assert d.rule


@pytest.mark.parametrize("n", [200, 50_000, 200_000])
def test_deep_nesting_is_a_located_error_not_a_crash(n: int) -> None:
    """libyaml composes recursively; ``[`` * 50,000 used to kill the process (SIGSEGV)."""
    with pytest.raises(EvopipeError, match="nested deeper than 100 levels") as info:
        loads("[" * n + "]" * n, "deep.yaml")
    assert "deep.yaml:1:" in str(info.value)


def test_template_errors_name_where() -> None:
    with pytest.raises(TemplateError, match="prompt: not allowed"):
        Renderer().render("{{ item.__class__.__mro__ }}", NAMESPACE, "prompt")


@pytest.mark.parametrize("bad_type", [True, 3, [{"a": 1}], None])
def test_malformed_schema_type_is_a_diagnostic_not_a_crash(bad_type: Any) -> None:
    """Found by ``make fuzz``: ``type: true`` in an output schema crashed the data-flow rule."""
    import yaml

    doc = {
        "apiVersion": "evopipe/v1",
        "name": "s",
        "steps": [
            {
                "id": "answer",
                "kind": "extract",
                "prompt": "x",
                "output": {"schema": {"type": bad_type, "properties": {"label": {}}}},
            }
        ],
        "outputs": {"a": "{{ steps.answer.output.label }}"},
    }
    assert [d.rule for d in check_text(yaml.safe_dump(doc), "x.yaml")] == ["contract-invalid"]
