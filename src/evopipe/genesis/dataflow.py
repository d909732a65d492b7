"""Data flow of a raw (not yet validated) pipeline document: which steps and fields each step
reads. Used by the deterministic repairs, which must work on documents pydantic rejects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from evopipe.spec.conditions import parse_condition
from evopipe.spec.errors import ConditionError, TemplateError
from evopipe.spec.templates import Ref, is_template, references

Raw = dict[str, Any]

NON_TEMPLATE_KEYS = frozenset(
    {"id", "kind", "description", "needs", "when", "retry", "timeout_s", "cache", "output"}
)
NESTED_KEYS = frozenset({"steps", "pipeline"})
CONDITION_KEYS = ("when", "until")


def step_list(value: Any) -> list[Raw]:
    """The dict items of a steps list (anything else is ignored)."""
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def scopes(data: Raw) -> Iterator[list[Raw]]:
    """Every list of steps that forms one id scope: the top level, then inner steps."""
    pending = [step_list(data.get("steps"))]
    while pending:
        steps = pending.pop(0)
        yield steps
        for step in steps:
            inner = step_list(step.get("steps"))
            if inner:
                pending.append(inner)


def all_steps(data: Raw) -> Iterator[Raw]:
    for steps in scopes(data):
        yield from steps


def step_ids(steps: list[Raw]) -> list[str]:
    return [s["id"] for s in steps if isinstance(s.get("id"), str)]


def conditions(step: Raw) -> list[str]:
    """Condition expressions of a raw step (``when``, ``until``, switch cases)."""
    found = [step[k] for k in CONDITION_KEYS if isinstance(step.get(k), str)]
    cases = step.get("cases")
    if isinstance(cases, list):
        found += [
            c["when"] for c in cases if isinstance(c, dict) and isinstance(c.get("when"), str)
        ]
    return found


def templates_of(value: Any, *, top: bool = True) -> Iterator[str]:
    """Template strings in a raw step's own config (inner steps excluded)."""
    if isinstance(value, str):
        if is_template(value):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if top and (key in NON_TEMPLATE_KEYS or key in NESTED_KEYS):
                continue
            yield from templates_of(item, top=False)
    elif isinstance(value, list):
        for item in value:
            yield from templates_of(item, top=False)


def safe_refs(template: str) -> tuple[Ref, ...]:
    try:
        return references(template)
    except TemplateError:
        return ()


def condition_refs(expression: str) -> tuple[Ref, ...]:
    """References of a condition (none if it does not parse)."""
    try:
        return parse_condition(expression).references()
    except ConditionError:
        return ()


@dataclass(frozen=True)
class Read:
    """One read of ``steps.<step>...``: who reads it and the path after ``output``."""

    reader: str | None  # None: the pipeline's outputs
    step: str
    field: tuple[str | int, ...] | None  # None: not reading .output (e.g. .status)
    in_condition: bool = False


def step_reads(step: Raw) -> list[Read]:
    """Every ``steps.x`` reference made by one raw step (templates and conditions)."""
    reader = step.get("id") if isinstance(step.get("id"), str) else None
    out: list[Read] = []
    for template in templates_of(step):
        out += [_read(reader, r, False) for r in safe_refs(template) if _is_step_ref(r)]
    for cond in conditions(step):
        out += [_read(reader, r, True) for r in condition_refs(cond) if _is_step_ref(r)]
    return out


def output_reads(data: Raw) -> list[Read]:
    return [
        _read(None, r, False)
        for t in templates_of(data.get("outputs"), top=False)
        for r in safe_refs(t)
        if _is_step_ref(r)
    ]


def input_refs(data: Raw) -> list[str]:
    """Names read as ``inputs.<name>`` anywhere in the document."""
    names: list[str] = []
    refs: list[Ref] = [
        r for t in templates_of(data.get("outputs"), top=False) for r in safe_refs(t)
    ]
    for step in all_steps(data):
        refs += [r for t in templates_of(step) for r in safe_refs(t)]
        refs += [r for c in conditions(step) for r in condition_refs(c)]
    for ref in refs:
        first = ref.path[0] if ref.root == "inputs" and ref.path else None
        if isinstance(first, str) and first not in names:
            names.append(first)
    return names


def _is_step_ref(ref: Ref) -> bool:
    return ref.root == "steps" and bool(ref.path) and isinstance(ref.path[0], str)


def _read(reader: str | None, ref: Ref, in_condition: bool) -> Read:
    step = str(ref.path[0])
    rest = ref.path[1:]
    field = tuple(rest[1:]) if rest and rest[0] == "output" else (None if rest else ())
    return Read(reader, step, field, in_condition)
