"""Typed values a human gives when deciding an ``approval`` step.

An approval step may ask for values beside its yes/no (a budget, a reviewer's choice, a note)::

    - id: review
      kind: approval
      message: "Publish {{ inputs.title }}?"
      fields:
        audience: {type: choice, choices: [public, staff]}
        budget_usd: {type: number, min: 0, max: 500}
        notify: {type: boolean, required: false}

Every face (the CLI's ``--value``, the HTTP API, the dashboard's form, the chat) hands the
values to :func:`coerce_values`, which checks them against the fields, turns the text a form or
a command line sends into the field's type, fills defaults, and refuses the whole decision
with every problem listed, before anything is recorded. The step's output then carries the
values (``steps.review.output.values.budget_usd``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from evopipe.spec.base import Strict
from evopipe.spec.errors import EvopipeError

FieldType = Literal["string", "text", "number", "integer", "boolean", "choice"]
FIELD_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


class FieldValuesError(EvopipeError):
    """Values that do not fit an approval step's fields (one line per problem)."""


class InputField(Strict):
    """One value an approver gives: its type, whether it is required, its bounds or choices."""

    type: FieldType = Field(default="string", description="How the value is asked and kept.")
    label: str | None = Field(default=None, description="Shown instead of the field's name.")
    description: str | None = Field(default=None, description="Help shown beside the field.")
    required: bool = Field(default=True, description="The approver must give it (or a default).")
    choices: list[str] | None = Field(default=None, description="The allowed values (choice).")
    min: float | None = Field(default=None, description="Lowest allowed number.")
    max: float | None = Field(default=None, description="Highest allowed number.")
    default: str | int | float | bool | None = Field(
        default=None, description="Used when not given."
    )

    @model_validator(mode="after")
    def _consistent(self) -> InputField:
        if (self.type == "choice") != bool(self.choices):
            raise ValueError("a choice field needs choices, and only a choice field has them")
        if (self.min is not None or self.max is not None) and self.type not in (
            "number",
            "integer",
        ):
            raise ValueError("min and max apply to number and integer fields")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        if self.default is not None:
            problem = _problem(self, self.default)
            if isinstance(problem, str):
                raise ValueError(f"default {self.default!r}: {problem}")
        return self


def coerce_values(fields: Mapping[str, InputField], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` checked against ``fields`` and converted to their types, with defaults filled
    in; a missing optional field without a default is left out. Raises
    :class:`FieldValuesError` listing every problem."""
    problems = [f"{name}: no such field" for name in given if name not in fields]
    values: dict[str, Any] = {}
    for name, field in fields.items():
        raw = given.get(name)
        if _blank(raw):
            raw = field.default
        if raw is None and field.type == "boolean":
            raw = False  # an unchecked box sends nothing
        if raw is None:
            if field.required:
                problems.append(f"{name}: required")
            continue
        result = _problem(field, raw)
        if isinstance(result, str):
            problems.append(f"{name}: {result}")
        else:
            values[name] = result[0]
    if problems:
        allowed = ", ".join(fields) or "none"
        raise FieldValuesError(
            "the values do not fit the step's fields (" + allowed + "):\n  " + "\n  ".join(problems)
        )
    return values


def fields_from(data: Any) -> dict[str, InputField]:
    """Fields as a ``step_waiting`` event keeps them (plain JSON), back as models."""
    if not isinstance(data, Mapping):
        return {}
    return {str(name): InputField.model_validate(spec) for name, spec in data.items()}


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _problem(field: InputField, raw: Any) -> str | tuple[Any]:
    """The value converted (in a 1-tuple), or what is wrong with it."""
    if field.type in ("string", "text"):
        return (str(raw),) if isinstance(raw, str | int | float) else "expected text"
    if field.type == "choice":
        text = str(raw).strip()
        allowed = field.choices or []
        return (text,) if text in allowed else f"{text!r} is not one of {', '.join(allowed)}"
    if field.type == "boolean":
        if isinstance(raw, bool):
            return (raw,)
        word = str(raw).strip().lower()
        if word in _TRUE or word in _FALSE:
            return (word in _TRUE,)
        return f"{raw!r} is not yes or no"
    return _number(field, raw)


def _number(field: InputField, raw: Any) -> str | tuple[Any]:
    if isinstance(raw, bool):
        return f"expected a{'n integer' if field.type == 'integer' else ' number'}, not {raw}"
    try:
        number = float(raw)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        return f"{raw!r} is not a number"
    if field.type == "integer":
        if not number.is_integer():
            return f"{raw!r} is not a whole number"
        number = int(number)
    if field.min is not None and number < field.min:
        return f"{raw} is below the minimum {field.min:g}"
    if field.max is not None and number > field.max:
        return f"{raw} is above the maximum {field.max:g}"
    return (number,)
