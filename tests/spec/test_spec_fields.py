"""Typed approval values: the fields a step declares check, convert and complete what an
approver gives, and refuse the whole decision with every problem named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from evopipe.spec.errors import SpecError
from evopipe.spec.fields import FieldValuesError, InputField, coerce_values, fields_from
from evopipe.spec.kinds import ApprovalStep
from evopipe.spec.loader import loads

FIELDS = {
    "audience": InputField(type="choice", choices=["everyone", "staff"]),
    "budget": InputField(type="number", min=0, max=500),
    "copies": InputField(type="integer", default=1),
    "notify": InputField(type="boolean"),
    "note": InputField(type="text", required=False),
}


def test_text_from_a_form_becomes_each_fields_type_and_defaults_fill_in() -> None:
    given = {"audience": "staff", "budget": "12.5", "notify": "on"}
    assert coerce_values(FIELDS, given) == {
        "audience": "staff",
        "budget": 12.5,
        "copies": 1,
        "notify": True,
    }
    typed = {"audience": "everyone", "budget": 3, "copies": "4", "notify": False, "note": "x"}
    assert coerce_values(FIELDS, typed) == {
        "audience": "everyone",
        "budget": 3.0,
        "copies": 4,
        "notify": False,
        "note": "x",
    }


def test_an_unchecked_box_is_false_and_a_blank_optional_field_is_left_out() -> None:
    values = coerce_values(FIELDS, {"audience": "staff", "budget": "0", "note": "  "})
    assert values["notify"] is False
    assert "note" not in values


def test_every_problem_is_listed_and_nothing_is_half_accepted() -> None:
    given = {"audience": "board", "budget": "600", "copies": "2.5", "notify": "maybe", "x": 1}
    with pytest.raises(FieldValuesError) as caught:
        coerce_values(FIELDS, given)
    lines = str(caught.value).splitlines()[1:]
    assert [line.strip() for line in lines] == [
        "x: no such field",
        "audience: 'board' is not one of everyone, staff",
        "budget: 600 is above the maximum 500",
        "copies: '2.5' is not a whole number",
        "notify: 'maybe' is not yes or no",
    ]
    with pytest.raises(FieldValuesError, match="audience: required"):
        coerce_values(FIELDS, {"budget": "1"})
    with pytest.raises(FieldValuesError, match="budget: 'nan' is not a number"):
        coerce_values(FIELDS, {"audience": "staff", "budget": "nan"})
    with pytest.raises(FieldValuesError, match="budget: -1 is below the minimum 0"):
        coerce_values(FIELDS, {"audience": "staff", "budget": -1})


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"type": "choice"}, "a choice field needs choices"),
        ({"type": "string", "choices": ["a"]}, "only a choice field has them"),
        ({"type": "string", "min": 1}, "min and max apply to number and integer fields"),
        ({"type": "number", "min": 5, "max": 1}, "min 5.0 is above max 1.0"),
        ({"type": "integer", "default": "two"}, "default 'two': 'two' is not a number"),
    ],
)
def test_a_field_that_contradicts_itself_is_refused(spec: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        InputField.model_validate(spec)


def test_fields_travel_as_plain_json_and_come_back_the_same() -> None:
    plain = {name: f.model_dump(exclude_none=True) for name, f in FIELDS.items()}
    assert fields_from(plain) == FIELDS
    assert fields_from(None) == {}


def test_a_pipeline_file_declares_fields_on_an_approval_step_and_bad_ones_are_located() -> None:
    good = """apiVersion: evopipe/v1
kind: Pipeline
name: gated
steps:
  - id: gate
    kind: approval
    message: ok?
    fields:
      budget: {type: number, max: 10}
"""
    step = loads(good).pipeline.steps[0]
    assert isinstance(step, ApprovalStep)
    assert step.fields["budget"].max == 10
    bad = good.replace("{type: number, max: 10}", "{type: colour}")
    with pytest.raises(SpecError, match=r"<string>:9:\d+: .*fields\.budget\.type"):
        loads(bad)
