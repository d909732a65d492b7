"""Forms typed from JSON Schemas: each property becomes a labelled field of its type (text,
number, checkbox, a choice for an ``enum``), and a posted form is read back into values of
those types — a clear error names the field that does not fit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from evopipe.app import EvopipeError

__all__ = ["coerce", "fields"]


def _widget(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "select"
    kind = schema.get("type")
    return {"integer": "number", "number": "number", "boolean": "checkbox"}.get(
        str(kind), "text" if kind == "string" else "json"
    )


def fields(
    properties: Mapping[str, Any], prefill: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The fields to render, in the schema's order, with a value to start from."""
    out = []
    for name, raw in properties.items():
        schema = raw if isinstance(raw, Mapping) else {}
        value = (prefill or {}).get(name, schema.get("default"))
        widget = _widget(schema)
        if widget == "json" and value is not None:
            value = json.dumps(value)
        out.append(
            {
                "name": name,
                "widget": widget,
                "value": value,
                "choices": list(schema.get("enum") or []),
                "step": "1" if schema.get("type") == "integer" else "any",
                "description": schema.get("description") or "",
                "required": "default" not in schema,
            }
        )
    return out


def _one(name: str, schema: Mapping[str, Any], text: str | None) -> Any:
    widget = _widget(schema)
    if widget == "checkbox":
        return text is not None
    if text is None or (text == "" and widget != "text"):
        return schema.get("default")
    try:
        if widget == "number":
            return int(text) if schema.get("type") == "integer" else float(text)
        if widget == "json":
            return json.loads(text)
    except ValueError:
        kind = schema.get("type")
        raise EvopipeError(f"field {name!r}: {text!r} is not a valid {kind}") from None
    if widget == "select":
        match = [c for c in schema["enum"] if str(c) == text]
        if not match:
            raise EvopipeError(f"field {name!r}: {text!r} is not one of {schema['enum']}")
        return match[0]
    return text


def coerce(properties: Mapping[str, Any], form: Mapping[str, str], prefix: str) -> dict[str, Any]:
    """The values of the fields named ``prefix + property`` (absent optional ones left out)."""
    values = {}
    for name, raw in properties.items():
        schema = raw if isinstance(raw, Mapping) else {}
        value = _one(name, schema, form.get(prefix + name))
        if value is not None:
            values[name] = value
    return values
