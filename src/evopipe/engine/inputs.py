"""Run inputs: defaults from the pipeline's input schemas, then validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline


class InputError(EvopipeError):
    """Run inputs do not match the pipeline's declared inputs."""


def resolve_inputs(pipeline: Pipeline, given: Mapping[str, Any]) -> dict[str, Any]:
    """Declared inputs with defaults applied; raise :class:`InputError` listing every problem."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name in given:
        if name not in pipeline.inputs:
            known = ", ".join(sorted(pipeline.inputs)) or "none"
            problems.append(f"unknown input {name!r} (declared: {known})")
    for name, schema in pipeline.inputs.items():
        if name in given:
            value = given[name]
        elif "default" in schema:
            value = schema["default"]
        else:
            problems.append(f"missing required input {name!r}")
            continue
        try:
            errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
        except SchemaError as exc:
            problems.append(f"input {name!r} has an invalid schema: {exc.message}")
            continue
        for err in errors[:3]:
            where = "/".join(str(p) for p in err.absolute_path)
            problems.append(f"input {name!r}{'/' + where if where else ''}: {err.message}")
        out[name] = value
    if problems:
        raise InputError(f"pipeline {pipeline.name!r}: " + "; ".join(problems))
    return out
