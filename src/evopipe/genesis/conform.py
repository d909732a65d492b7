"""Make a generated pipeline accept the inputs its caller will pass.

A ``generate`` step with ``run: true`` passes inputs under names it chose (``sentence``)
before genesis chose its own (``text``). When exactly one required input is not given and
exactly one given input is not declared, the declared input is renamed everywhere it is read —
a deterministic rename, checked again afterwards. Any other mismatch is left for the engine
to report (unknown input / missing required input), never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from evopipe.check.validity import assess
from evopipe.spec.canonical import canonical_data
from evopipe.spec.pipeline import Pipeline


def conform_inputs(pipeline: Pipeline, given: Collection[str]) -> Pipeline:
    """``pipeline`` with its one unmatched required input renamed to the one unmatched given
    name, when that is the whole mismatch; otherwise ``pipeline`` unchanged."""
    declared = pipeline.inputs
    required = {n for n, spec in declared.items() if "default" not in spec}
    missing = sorted(required - set(given))
    unknown = sorted(set(given) - set(declared))
    if len(missing) != 1 or len(unknown) != 1:
        return pipeline
    data = _renamed(canonical_data(pipeline), missing[0], unknown[0])
    validity = assess(Pipeline.model_validate(data))
    return validity.pipeline if validity.valid and validity.pipeline else pipeline


def _renamed(data: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    pattern = re.compile(rf"\binputs\.{re.escape(old)}\b")

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(f"inputs.{new}", value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    out: dict[str, Any] = walk(data)
    out["inputs"] = {(new if k == old else k): v for k, v in data["inputs"].items()}
    return out
