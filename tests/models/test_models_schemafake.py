"""FakeModel's schema-aware values: valid for a wide corpus of JSON Schemas."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evopipe.models.schemafake import example_for

CORPUS: list[dict[str, Any]] = [
    {"type": "string"},
    {"type": "integer", "minimum": 5, "maximum": 7},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": "integer", "multipleOf": 7, "minimum": 10},
    {"type": "boolean"},
    {"type": "null"},
    {"type": ["string", "null"]},
    {"enum": ["red", "green", 3]},
    {"const": {"a": 1}},
    {"type": "string", "minLength": 12, "maxLength": 14},
    {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
    {"type": "string", "pattern": r"^(cat|dog)s?$"},
    {"type": "string", "pattern": r"^\w+@\w+\.com$"},
    {"type": "string", "format": "date"},
    {"type": "string", "format": "email"},
    {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 5},
    {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 2},
    {"type": "array", "maxItems": 0},
    {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
            "meta": {
                "type": "object",
                "properties": {"level": {"type": "integer", "minimum": 1, "maximum": 3}},
                "required": ["level"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "meta"],
        "additionalProperties": False,
    },
    {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}},
    {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["value"],
            }
        },
        "$ref": "#/$defs/node",
    },
    {
        "definitions": {"pos": {"type": "integer", "minimum": 1}},
        "type": "object",
        "properties": {"n": {"$ref": "#/definitions/pos"}},
        "required": ["n"],
    },
    {"anyOf": [{"type": "integer", "minimum": 10}, {"type": "string"}]},
    {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "string", "minLength": 5}]},
    {
        "oneOf": [
            {"type": "object", "properties": {"kind": {"const": "a"}}, "required": ["kind"]},
            {"type": "object", "properties": {"kind": {"const": "b"}}, "required": ["kind"]},
        ]
    },
    {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
        ]
    },
    {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x", "y"]},
]


@pytest.mark.parametrize("schema", CORPUS, ids=[str(i) for i in range(len(CORPUS))])
def test_corpus_examples_validate(schema: dict[str, Any]) -> None:
    for seed in range(5):
        jsonschema.validate(example_for(schema, seed), schema)


def test_same_seed_same_value() -> None:
    schema = CORPUS[19]
    assert example_for(schema, 7) == example_for(schema, 7)


_leaf = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer", "minimum": -3, "maximum": 3},
        {"type": "number"},
        {"type": "boolean"},
        {"enum": ["a", "b"]},
        {"type": "string", "pattern": "^[a-f0-9]{4}$"},
    ]
)
_schemas = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(
            lambda items, n: {"type": "array", "items": items, "minItems": n},
            inner,
            st.integers(0, 3),
        ),
        st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), inner, max_size=4).map(
            lambda props: {
                "type": "object",
                "properties": props,
                "required": sorted(props),
                "additionalProperties": False,
            }
        ),
        st.lists(inner, min_size=1, max_size=3).map(lambda opts: {"anyOf": opts}),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(schema=_schemas, seed=st.integers(0, 2**32))
def test_generated_schemas_validate(schema: dict[str, Any], seed: int) -> None:
    jsonschema.validate(example_for(schema, seed), schema)
