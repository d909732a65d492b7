"""Fuzzing the loader and the checker: only evopipe's own errors may come out, never a crash.

Scaled by ``EVOPIPE_FUZZ_EXAMPLES`` (default 200; ``make fuzz`` runs 10,000).
"""

from __future__ import annotations

import contextlib
import copy
import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evopipe.check import check_text
from evopipe.spec import EvopipeError, loads
from evopipe.spec.errors import Diagnostic

FUZZ = settings(
    max_examples=int(os.environ.get("EVOPIPE_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SEED: dict[str, Any] = {
    "apiVersion": "evopipe/v1",
    "name": "seed",
    "inputs": {"text": {"type": "string"}, "items": {"type": "array"}},
    "personas": {"critic": {"system": "Be strict."}},
    "limits": {"max_steps": 20, "max_depth": 2},
    "outputs": {"answer": "{{ steps.answer.output.label }}"},
    "steps": [
        {
            "id": "answer",
            "kind": "extract",
            "prompt": "{{ inputs.text }}",
            "persona": "critic",
            "output": {"schema": {"type": "object", "properties": {"label": {"type": "string"}}}},
        },
        {
            "id": "route",
            "kind": "switch",
            "cases": [{"when": "steps.answer.output.label == 'x'", "then": ["each"]}],
            "default": ["refine"],
        },
        {
            "id": "each",
            "kind": "map",
            "over": "{{ inputs.items }}",
            "steps": [{"id": "one", "kind": "set", "values": {"v": "{{ item }}"}}],
            "collect": "{{ steps.one.output.v }}",
        },
        {
            "id": "refine",
            "kind": "loop",
            "until": "loop.iteration > 2",
            "steps": [{"id": "again", "kind": "llm", "prompt": "{{ loop.previous }}"}],
        },
        {
            "id": "sub",
            "kind": "pipeline",
            "pipeline": {
                "apiVersion": "evopipe/v1",
                "name": "inner",
                "steps": [{"id": "x", "kind": "llm", "prompt": "hi"}],
            },
        },
    ],
}

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(
        ["{{", "{{ steps.answer.output.label }}", "{% for %}", "steps.x ==", "llm", "map", "-1"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _must_not_crash(text: str) -> list[Diagnostic]:
    try:
        found = check_text(text, "fuzz.yaml")
    except EvopipeError:
        return []
    for d in found:
        assert d.rule
        assert d.line >= 0
        assert d.column >= 0
    with contextlib.suppress(EvopipeError):
        loads(text)
    return found


_yaml_bits = st.sampled_from(
    [
        "apiVersion: evopipe/v1\n", "name: x\n", "steps:\n", "  - id: a\n", "    kind: llm\n",
        "    prompt: '{{ inputs.q }}'\n", "    when: a ==\n", "- ", ": ", "[", "]", "{", "}", ",",
        "&a ", "*a ", "<<: ", "!!str ", "? ", "|\n", ">\n", "'", '"', "#", "\t", "\n", "  ",
        "---\n", "...\n", "0x", "1e9", "null", "~", "é", "\x00", "\ufeff", "%YAML 1.1\n",
    ]
)  # fmt: skip


@pytest.mark.fuzz
@FUZZ
@given(st.lists(_yaml_bits | st.text(max_size=5), max_size=40).map("".join))
def test_random_yaml_text(text: str) -> None:
    _must_not_crash(text)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(SEED)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(_json)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(_json)
        else:
            parent.append(draw(_json))
    return doc


@pytest.mark.fuzz
@FUZZ
@given(_mutated())
def test_mutated_pipelines(doc: dict[str, Any]) -> None:
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return
    _must_not_crash(text)


@pytest.mark.fuzz
@FUZZ
@given(st.text(max_size=40), st.text(max_size=40))
def test_random_templates_and_conditions(template: str, condition: str) -> None:
    doc = copy.deepcopy(SEED)
    doc["steps"][0]["prompt"] = template
    doc["steps"][1]["cases"][0]["when"] = condition
    doc["steps"][3]["until"] = condition
    doc["outputs"]["answer"] = "{{ " + template + " }}"
    _must_not_crash(yaml.safe_dump(doc, allow_unicode=True))


def test_seed_is_valid() -> None:
    assert _must_not_crash(yaml.safe_dump(SEED)) == []
