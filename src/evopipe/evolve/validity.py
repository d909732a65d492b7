"""Check every offspring before it is evaluated (the one validity check every face uses);
repair it (genesis repairs) or discard it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from evopipe.check.validity import assess
from evopipe.spec import Pipeline
from evopipe.spec.errors import Diagnostic, EvopipeError

Verdict = Literal["ok", "repaired", "invalid"]


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    pipeline: Pipeline | None
    errors: tuple[str, ...] = ()


def diagnostics(pipeline: Pipeline) -> list[Diagnostic]:
    """The errors of the one validity check (:func:`evopipe.check.validity.assess`)."""
    return list(assess(pipeline).errors)


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
