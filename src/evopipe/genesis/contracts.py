"""Automatic output contracts: build a step's JSON Schema from the fields later steps read.

``steps.x.output.a.b`` read downstream → x gets ``{type: object, properties: {a: {type: object,
properties: {b: ...}}}}``. Leaf types are guessed from the field name (``confidence`` → number,
``approved`` → boolean); a field a map iterates over becomes an array.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from evopipe.genesis.dataflow import Raw, Read, all_steps, output_reads, step_reads
from evopipe.spec.catalog import is_prompted

_NUMBER = re.compile(
    r"(^|_)(confidence|score|probability|count|total|amount|rating|ratio|percent|"
    r"number|estimate|likelihood|weight|cost|price)s?($|_)"
)
_BOOLEAN = re.compile(
    r"^(is_|has_|should_)|(^|_)(approved|valid|ok|passed|done|faithful|grounded)$"
)
_ARRAY = re.compile(r"(^|_)(items|list|points|steps|tasks|issues|problems|records|rows)$")

DEFAULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"result": {"type": "string"}},
    "required": ["result"],
}


def leaf_schema(name: str | int | None, *, iterated: bool = False) -> dict[str, Any]:
    if iterated:
        return {"type": "array", "items": {"type": "string"}}
    text = str(name or "")
    if _BOOLEAN.search(text):
        return {"type": "boolean"}
    if _NUMBER.search(text):
        return {"type": "number"}
    if _ARRAY.search(text):
        return {"type": "array", "items": {"type": "string"}}
    return {"type": "string"}


def schema_from_paths(paths: list[tuple[tuple[str | int, ...], bool]]) -> dict[str, Any]:
    """An object schema holding every (path, iterated) read; empty path list → a default."""
    paths = [(p, it) for p, it in paths if p]
    if not paths:
        return {**DEFAULT_SCHEMA, "properties": dict(DEFAULT_SCHEMA["properties"])}
    root: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for path, iterated in paths:
        _add_path(root, path, iterated)
    return root


def _add_path(node: dict[str, Any], path: tuple[str | int, ...], iterated: bool) -> None:
    head, rest = path[0], path[1:]
    if isinstance(head, int):  # a list index: the node is an array of what follows
        node.clear()
        item: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        node.update({"type": "array", "items": item})
        if rest:
            _add_path(item, rest, iterated)
        else:
            node["items"] = {"type": "string"}
        return
    if node.get("type") != "object":
        node.clear()
        node.update({"type": "object", "properties": {}, "required": []})
    props = node.setdefault("properties", {})
    if head not in props:
        props[head] = leaf_schema(head, iterated=iterated and not rest)
        node.setdefault("required", []).append(head)
    if rest:
        child = props[head]
        if isinstance(rest[0], int):
            if child.get("type") != "array":
                child.clear()
                child.update({"type": "array", "items": {"type": "string"}})
            if rest[1:]:
                items = child.get("items")
                if not isinstance(items, dict) or items.get("type") != "object":
                    items = {"type": "object", "properties": {}, "required": []}
                    child["items"] = items
                _add_path(items, rest[1:], iterated)
        else:
            _add_path(child, rest, iterated)


def _collect_reads(data: Raw) -> dict[str, list[tuple[tuple[str | int, ...], bool]]]:
    """Step id → the output paths read anywhere (and whether a map iterates over them)."""
    out: dict[str, list[tuple[tuple[str | int, ...], bool]]] = {}
    reads: list[tuple[Read, bool]] = [(r, False) for r in output_reads(data)]
    for step in all_steps(data):
        over = step.get("over") if step.get("kind") == "map" else None
        over_reads = {
            (r.step, r.field) for r in step_reads({"over": over}) if isinstance(over, str)
        }
        for r in step_reads(step):
            reads.append((r, (r.step, r.field) in over_reads))
    for read, iterated in reads:
        if read.field is not None:
            out.setdefault(read.step, []).append((read.field, iterated))
    return out


def rename_refs(data: Raw, pattern: re.Pattern[str], new: str) -> None:
    """Rewrite every match of ``pattern`` to ``new`` in the templates, conditions and outputs
    of the document (contracts, ids and ``needs`` untouched)."""

    for step in all_steps(data):
        for key in list(step):
            if key not in ("id", "kind", "needs", "output", "steps"):
                step[key] = _rewrite(step[key], pattern, new)
    if "outputs" in data:
        data["outputs"] = _rewrite(data["outputs"], pattern, new)


def _rewrite(value: Any, pattern: re.Pattern[str], new: str) -> Any:
    """``pattern`` replaced by ``new`` in every string inside plain data."""
    if isinstance(value, str):
        return pattern.sub(new, value)
    if isinstance(value, list):
        return [_rewrite(v, pattern, new) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite(v, pattern, new) for k, v in value.items()}
    return value


def close_name(name: str, known: list[str]) -> str | None:
    """The one name of ``known`` that ``name`` is a near miss of (a typo), if any."""
    matches = difflib.get_close_matches(name, known, n=2, cutoff=0.75)
    return matches[0] if len(matches) == 1 else None


def _correct_field(data: Raw, sid: str, schema: dict[str, Any], field: str | int) -> str | None:
    """A read of ``steps.sid.output.<field>`` where the contract defines a near-miss name:
    rewrite the read to that name (never add the typo to the contract)."""
    props = schema.get("properties")
    if not isinstance(field, str) or not isinstance(props, dict) or field in props:
        return None
    match = close_name(field, [p for p in props if isinstance(p, str)])
    if match is None:
        return None
    pattern = re.compile(rf"\bsteps\.{re.escape(sid)}\.output\.{re.escape(field)}\b")
    rename_refs(data, pattern, f"steps.{sid}.output.{match}")
    return f"{sid}: read of output.{field} → output.{match} (its contract's field)"


def ensure_contracts(data: Raw) -> list[str]:
    """Give every model step a contract and add missing read fields; return notes. A read of a
    near-miss of a contract field (a typo) is corrected instead of added."""
    reads = _collect_reads(data)
    notes: list[str] = []
    for step in all_steps(data):
        sid = step.get("id")
        if not is_prompted(step.get("kind")) or not isinstance(sid, str):
            continue
        output = step.get("output")
        if not isinstance(output, dict) or (
            not isinstance(output.get("schema"), dict) and not output.get("schema_file")
        ):
            contract = output if isinstance(output, dict) else {}
            contract["schema"] = schema_from_paths(reads.get(sid, []))
            step["output"] = contract
            notes.append(f"{sid}: generated an output contract")
            continue
        schema = output.get("schema")
        if isinstance(schema, dict):
            notes += _tidy_required(sid, schema)
            for path, iterated in reads.get(sid, []):
                if path and not _has_path(schema, path):
                    if schema.get("type") not in (None, "object"):
                        continue
                    corrected = _correct_field(data, sid, schema, path[0])
                    if corrected is not None:
                        notes += [corrected] if corrected not in notes else []
                        continue
                    _add_path(schema, path, iterated)
                    notes.append(f"{sid}: added {'.'.join(map(str, path))} to its contract")
    return notes


def _tidy_required(sid: str, schema: dict[str, Any]) -> list[str]:
    """Drop ``required`` names an object schema with explicit properties does not define."""
    props, required = schema.get("properties"), schema.get("required")
    if not isinstance(props, dict) or not isinstance(required, list):
        return []
    kept = [r for r in required if r in props]
    if kept == required:
        return []
    schema["required"] = kept
    return [f"{sid}: dropped required names its contract does not define"]


def _has_path(schema: Any, path: tuple[str | int, ...]) -> bool:
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return False
        if isinstance(part, int):
            node = node.get("items")
            continue
        props = node.get("properties")
        if not isinstance(props, dict) or part not in props:
            return (
                node.get("additionalProperties") not in (None, False) and "properties" not in node
            )
        node = props[part]
    return True


def properties(step: Raw) -> set[str]:
    output = step.get("output")
    schema = output.get("schema") if isinstance(output, dict) else None
    props = schema.get("properties") if isinstance(schema, dict) else None
    return set(props) if isinstance(props, dict) else set()


def rename_step_refs(
    container: Raw, old: str, new: str, *, keys: tuple[str, ...] | None = None, field: str = ""
) -> None:
    """Rewrite ``steps.old`` (optionally only ``steps.old.output.<field>``) to ``steps.new`` in
    the string values of ``container`` (all keys, or only ``keys``)."""
    tail = rf"(?=\.output\.{re.escape(field)}\b)" if field else r"\b"
    pattern = re.compile(rf"\bsteps\.{re.escape(old)}{tail}")
    for key in list(container):
        if key in ("id", "kind", "needs", "output", "steps") or (keys and key not in keys):
            continue
        container[key] = _rewrite(container[key], pattern, f"steps.{new}")


def redirect_reads(data: Raw, steps: list[Raw], old: str, first: Raw, renamed: Raw) -> list[str]:
    """After renaming a duplicate, redirect reads of fields only the renamed step produces."""
    only_new = properties(renamed) - properties(first)
    new_id = renamed["id"]
    notes: list[str] = []
    readers: list[tuple[Raw, tuple[str, ...] | None, str]] = [
        (s, None, str(s.get("id"))) for s in steps if s is not renamed
    ]
    readers.append((data, ("outputs",), "outputs"))
    for container, keys, label in readers:
        for field in sorted(only_new):
            before = repr(container if keys is None else container.get("outputs"))
            rename_step_refs(container, old, new_id, keys=keys, field=field)
            if repr(container if keys is None else container.get("outputs")) != before:
                notes.append(f"{label}: steps.{old}.output.{field} → steps.{new_id}")
    return notes
