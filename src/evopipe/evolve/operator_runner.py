"""Runs the LLM-driven operators' pipelines (``evopipe/library/operators/NAME.yaml``).

They are ordinary pipelines run by the engine; a run's model (``--operator-model``, default the
task model) drives them. Their usage is reported under ``__usage__`` so the loop can charge it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evopipe.engine import RunOptions, run_pipeline
from evopipe.evolve.operators import OperatorError
from evopipe.spec import Pipeline, loads

LIBRARY = Path(__file__).resolve().parent.parent / "library" / "operators"


def operator_path(name: str) -> Path:
    return LIBRARY / f"{name}.yaml"


def load_operator(name: str, override: Path | None = None) -> Pipeline:
    """The operator pipeline ``name`` (or the file ``override``, e.g. an evolved variant)."""
    path = override or operator_path(name)
    if not path.is_file():
        raise OperatorError(f"no operator pipeline {name!r} ({path})")
    return loads(path.read_text(encoding="utf-8"), str(path)).pipeline


class EngineOperatorRunner:
    def __init__(
        self,
        services: Any,
        *,
        model: str | None = None,
        overrides: dict[str, Pipeline] | None = None,
    ) -> None:
        self.services = services
        self.model = model
        self.overrides = dict(overrides or {})
        self._loaded: dict[str, Pipeline] = {}

    def pipeline(self, name: str) -> Pipeline:
        if name in self.overrides:
            return self.overrides[name]
        if name not in self._loaded:
            self._loaded[name] = load_operator(name)
        return self._loaded[name]

    async def __call__(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        result = await run_pipeline(
            self.pipeline(name),
            inputs,
            services=self.services,
            options=RunOptions(model=self.model),
        )
        if result.status != "succeeded":
            raise OperatorError(f"operator pipeline {name} {result.status}: {result.error}")
        usage = {"calls": result.usage.calls, "cost_usd": result.usage.cost_usd}
        return {**dict(result.outputs), "__usage__": usage}
