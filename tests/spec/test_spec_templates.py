"""Static template references: the regex fast path agrees with Jinja2's parse tree."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evopipe.spec.errors import TemplateError
from evopipe.spec.templates import Ref, _simple_references, jinja_references, references

FUZZ = settings(max_examples=int(os.environ.get("EVOPIPE_FUZZ_EXAMPLES", "200")), deadline=None)

_names = st.sampled_from(["inputs", "steps", "item", "x", "true", "none", "not", "a_1", "é"])
_parts = st.sampled_from([".output", ".a", "[0]", "['k']", '["k k"]', ".0", "[x]", "[-1]"])
_filters = st.sampled_from(["", " | upper", "|length", " | default('x')", " |e"])
_space = st.sampled_from(["", " ", "  ", "\n", "- "])


@st.composite
def _expression(draw: st.DrawFn) -> str:
    body = draw(_names) + "".join(draw(st.lists(_parts, max_size=4))) + draw(_filters)
    return "{{" + draw(_space) + body + draw(_space) + "}}"


@st.composite
def _template(draw: st.DrawFn) -> str:
    pieces = draw(
        st.lists(
            _expression() | st.sampled_from(["text ", "}}", "{", " {% if a %}b{% endif %}", "{{"]),
            max_size=5,
        )
    )
    return "".join(pieces)


def _outcome(fn: object, text: str) -> object:
    try:
        return fn(text)  # type: ignore[operator]
    except TemplateError:
        return "error"


@pytest.mark.fuzz
@FUZZ
@given(_template())
def test_fast_path_agrees_with_jinja(text: str) -> None:
    fast = _simple_references(text)
    if fast is not None:
        assert fast == _outcome(jinja_references, text)
    assert _outcome(references, text) == _outcome(jinja_references, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {{ inputs.who }}", (Ref("inputs", ("who",)),)),
        ('{{ steps.a.output["x"][0].y | upper }}', (Ref("steps", ("a", "output", "x", 0, "y")),)),
        ("{% for t in item.tags %}{{ t }}{% endfor %}", (Ref("item", ("tags",)),)),
        ("{{ steps[name].output }}", (Ref("steps", ()), Ref("name", ()))),
        ("no template", ()),
    ],
)
def test_references(text: str, expected: tuple[Ref, ...]) -> None:
    assert references(text) == expected


def test_syntax_errors_raise_template_error() -> None:
    with pytest.raises(TemplateError, match="line 1"):
        references("{{ a }")
