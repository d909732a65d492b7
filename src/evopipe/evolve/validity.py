"""Check every offspring before it is evaluated; repair it (genesis repairs) or discard it.

Uses the checker (``evopipe.check``) when it is installed; otherwise a minimal structural
check of our own (unknown step references, dependency cycles, extract steps without schema).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from evopipe.evolve.genome import step_dependencies
from evopipe.spec import Pipeline
from evopipe.spec.errors import Diagnostic, EvopipeError
from evopipe.spec.templates import references

Verdict = Literal["ok", "repaired", "invalid"]


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    pipeline: Pipeline | None
    errors: tuple[str, ...] = ()


def _checker_diagnostics(pipeline: Pipeline) -> list[Diagnostic] | None:
    """Diagnostics from ``evopipe.check`` if it offers ``check_pipeline``; None otherwise."""
    try:
        module = importlib.import_module("evopipe.check")
    except ImportError:
        return None
    fn = getattr(module, "check_pipeline", None)
    if fn is None:
        return None
    found = fn(pipeline)
    diagnostics = getattr(found, "diagnostics", found)
    return [d for d in diagnostics if getattr(d, "severity", "error") == "error"]


def _own_diagnostics(pipeline: Pipeline) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    ids = {s.id for s in pipeline.steps}
    for step in pipeline.steps:
        for need in step.needs:
            if need not in ids:
                found.append(Diagnostic("unknown-step", f"{step.id} needs unknown step {need}"))
        for where, text in step.templates().items():
            for ref in references(text):
                head = ref.path[0] if ref.path else None
                if ref.root == "steps" and isinstance(head, str) and head not in ids:
                    found.append(
                        Diagnostic("unknown-step", f"{step.id}.{where} reads unknown step {head}")
                    )
        needs_schema = step.kind_info.requires_contract
        if needs_schema and (step.output is None or step.output.schema_ is None):
            found.append(Diagnostic("extract-schema", f"extract step {step.id} has no schema"))
    for key, value in pipeline.outputs.items():
        if isinstance(value, str):
            for ref in references(value):
                head = ref.path[0] if ref.path else None
                if ref.root == "steps" and isinstance(head, str) and head not in ids:
                    found.append(Diagnostic("unknown-step", f"output {key} reads unknown {head}"))
    if _has_cycle(step_dependencies(pipeline)):
        found.append(Diagnostic("cycle", "the steps' dependencies form a cycle"))
    return found


def _has_cycle(deps: dict[str, set[str]]) -> bool:
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        if state.get(node) == 1:
            return True
        if state.get(node) == 2:
            return False
        state[node] = 1
        if any(visit(d) for d in sorted(deps.get(node, ()))):
            return True
        state[node] = 2
        return False

    return any(visit(n) for n in sorted(deps))


def diagnostics(pipeline: Pipeline) -> list[Diagnostic]:
    found = _checker_diagnostics(pipeline)
    return _own_diagnostics(pipeline) if found is None else found


def _repair(pipeline: Pipeline, found: list[Diagnostic]) -> Pipeline | None:
    try:
        from evopipe.genesis.repairs import apply_repairs
    except ImportError:
        return None
    data: dict[str, Any] = pipeline.model_dump(mode="python", by_alias=True)
    fixed, applied = apply_repairs(data, found)
    if not applied:
        return None
    try:
        return Pipeline.model_validate(fixed)
    except (ValidationError, EvopipeError):
        return None


def check_offspring(pipeline: Pipeline) -> Checked:
    """``ok`` as is, ``repaired`` by the genesis repairs, or ``invalid`` (to discard)."""
    found = diagnostics(pipeline)
    if not found:
        return Checked("ok", pipeline)
    fixed = _repair(pipeline, found)
    if fixed is not None and not diagnostics(fixed):
        return Checked("repaired", fixed, tuple(d.message for d in found))
    return Checked("invalid", None, tuple(d.message for d in found))
