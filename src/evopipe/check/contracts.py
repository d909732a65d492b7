"""Output contracts as static types: load them, validate them, and follow field paths in them."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import SchemaError

from evopipe.check.context import Context
from evopipe.spec.base import OutputContract, StepBase
from evopipe.spec.kinds import SetStep
from evopipe.spec.loader import PathKey

_MAX_REF_HOPS = 32


def load_schema_file(ctx: Context, name: str) -> Any:
    """The parsed schema file (JSON or YAML) relative to the base dir, or the exception."""
    path = (ctx.base_dir / name).resolve()
    if path not in ctx.schema_files:
        try:
            text = path.read_text(encoding="utf-8")
            ctx.schema_files[path] = (
                json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            )
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
            ctx.schema_files[path] = exc
    return ctx.schema_files[path]


def contract_schema(ctx: Context, contract: OutputContract | None) -> dict[str, Any] | None:
    """The JSON Schema a contract declares (inline or from its file), None if unusable."""
    if contract is None:
        return None
    if contract.schema_ is not None:
        return contract.schema_
    if contract.schema_file is not None:
        loaded = load_schema_file(ctx, contract.schema_file)
        return loaded if isinstance(loaded, dict) else None
    return None


def output_schema(ctx: Context, step: StepBase) -> dict[str, Any] | None:
    """What is statically known of a step's output: its contract, or a ``set`` step's keys."""
    schema = contract_schema(ctx, step.output)
    if schema is not None:
        return schema
    if isinstance(step, SetStep):
        return {"type": "object", "properties": {k: {} for k in step.values}}
    return None


def schema_problem(schema: Any) -> tuple[str, PathKey] | None:
    """Why a JSON Schema is itself invalid (message, path inside the schema), or None."""
    if not isinstance(schema, dict):
        return "a JSON Schema must be a mapping", ()
    key = repr(schema)  # a cache key only: loaded schemas are plain JSON-like data
    cached = _PROBLEMS.get(key, _UNSET)
    if cached is _UNSET:
        cached = _schema_problem(schema)
        if len(_PROBLEMS) >= 4096:
            _PROBLEMS.clear()
        _PROBLEMS[key] = cached
    return cached  # type: ignore[return-value]


_UNSET = object()
_PROBLEMS: dict[str, object] = {}
"""Memo of schema checks (a pure function of the schema text; bounded)."""


def _schema_problem(schema: dict[str, Any]) -> tuple[str, PathKey] | None:
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        return exc.message, tuple(exc.path)
    except (jsonschema.exceptions.UnknownType, LookupError, ValueError) as exc:
        return str(exc), ()
    return None


Missing = tuple[tuple[str | int, ...], str] | None
"""(the part of a path that exists, why the rest does not), or None."""


def missing_field(schema: dict[str, Any], path: tuple[str | int, ...]) -> Missing:
    """If ``path`` certainly does not exist in values valid under ``schema``, say why:
    (the part of ``path`` that does exist, the reason). None when it may exist.

    Conservative: anything the schema leaves open (no ``properties``, ``additionalProperties``
    allowed, unions, unresolved ``$ref``) is accepted.
    """
    node: Any = schema
    for i, key in enumerate(path):
        node = _resolve(schema, node)
        if not isinstance(node, dict) or _is_open_union(node):
            return None
        child = _child(node, key)
        if isinstance(child, str):
            return path[:i], child
        node = child
    return None


def _resolve(root: dict[str, Any], node: Any) -> Any:
    for _ in range(_MAX_REF_HOPS):
        if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
            return node
        ref = node["$ref"]
        if not ref.startswith("#"):
            return None
        target: Any = root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return None
            target = target[part]
        node = target
    return None


def _is_open_union(node: dict[str, Any]) -> bool:
    return any(k in node for k in ("anyOf", "oneOf", "allOf", "if", "not", "$dynamicRef"))


def _child(node: dict[str, Any], key: str | int) -> Any:
    """The sub-schema for ``key``, or a string saying why ``key`` cannot exist."""
    types = node.get("type")
    if isinstance(types, list):  # a malformed schema (``type: true``) must not crash the checker
        type_set = {t for t in types if isinstance(t, str)}
    else:
        type_set = {types} if isinstance(types, str) else set()
    if isinstance(key, int) or (key.isdigit() and "array" in type_set):
        return _item(node, int(key), type_set)
    props = node.get("properties")
    if isinstance(props, dict):
        if key in props:
            return props[key]
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
        if extra is True or "patternProperties" in node or "unevaluatedProperties" in node:
            return {}
        # properties listed and nothing else allowed: the contract is the complete field set
        # (standard JSON Schema would accept other keys; a template naming one is a typo)
        return f"has no field {key!r} (fields: {', '.join(map(str, props)) or 'none'})"
    if type_set and "object" not in type_set:
        return f"is of type {'/'.join(sorted(type_set))}, it has no field {key!r}"
    return {}


def _item(node: dict[str, Any], index: int, type_set: set[str]) -> Any:
    if type_set and "array" not in type_set:
        return f"is of type {'/'.join(sorted(type_set))}, it has no index {index}"
    prefix = node.get("prefixItems")
    if isinstance(prefix, list) and index < len(prefix):
        return prefix[index]
    items = node.get("items")
    return items if isinstance(items, dict) else {}
