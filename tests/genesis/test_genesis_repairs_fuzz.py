"""Repairs never crash on arbitrary drafts (a weak model writes anything)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evopipe.genesis.repairs import apply_repairs

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=20),
    st.sampled_from(["{{ steps.a.output.x }}", "{{ inputs.q }}", "{{ bad", "steps.a.output"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_step = st.fixed_dictionaries(
    {
        "id": st.one_of(st.sampled_from(["a", "b", "a"]), _scalars),
        "kind": st.sampled_from(["llm", "extract", "map", "loop", "switch", "nope", 3]),
    },
    optional={
        "prompt": _values,
        "needs": _values,
        "when": _values,
        "output": _values,
        "cases": _values,
        "steps": st.lists(st.dictionaries(st.text(max_size=6), _values), max_size=2),
        "over": _values,
    },
)
_doc = st.fixed_dictionaries(
    {},
    optional={
        "name": _values,
        "inputs": _values,
        "outputs": _values,
        "limits": _values,
        "metadata": _values,
        "steps": st.one_of(st.lists(_step, max_size=4), _values),
    },
)


@settings(max_examples=100, deadline=None)
@given(_doc)
def test_apply_repairs_never_crashes(data: dict[str, Any]) -> None:
    out, applied = apply_repairs(data)
    assert isinstance(out, dict)
    assert all(a.notes for a in applied)
