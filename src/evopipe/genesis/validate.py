"""Is a candidate spec valid? Load it, check it under the ``generated`` profile, and dry-run it
with the ``fake`` model to prove its data flow. Returns diagnostics; none means valid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from evopipe.check.validity import assess
from evopipe.engine import RunOptions, Services, run_pipeline
from evopipe.engine.policy import Policy
from evopipe.genesis.dataflow import safe_refs
from evopipe.models.base import Model
from evopipe.models.testing import FakeModel
from evopipe.spec import Pipeline, SpecError, canonical_data
from evopipe.spec.errors import Diagnostic, EvopipeError

PROFILE = "generated"


def to_text(data: Mapping[str, Any]) -> str:
    """YAML text of a raw document, apiVersion/kind/name first."""
    head = {k: data[k] for k in ("apiVersion", "kind", "name", "description") if k in data}
    rest = {k: v for k, v in data.items() if k not in head}
    return yaml.safe_dump({**head, **rest}, sort_keys=False, allow_unicode=True, width=100)


def spec_yaml(pipeline: Pipeline) -> str:
    """Canonical YAML of a pipeline that keeps every step's ``kind`` (``to_yaml`` drops a kind
    equal to its model's default, e.g. ``llm``, which makes the text unloadable)."""
    data = canonical_data(pipeline)
    data["kind"] = "Pipeline"
    _restore_kinds(data.get("steps"), pipeline.steps)
    return to_text(data)


def _restore_kinds(raw: Any, steps: Any) -> None:
    if not isinstance(raw, list) or not isinstance(steps, list):
        return
    for item, step in zip(raw, steps, strict=False):
        if isinstance(item, dict):
            item["kind"] = step.kind
            _restore_kinds(item.get("steps"), getattr(step, "steps", None))
            inner = getattr(step, "pipeline", None)
            if isinstance(inner, Pipeline) and isinstance(item.get("pipeline"), dict):
                item["pipeline"]["kind"] = "Pipeline"
                _restore_kinds(item["pipeline"].get("steps"), inner.steps)


def check_text(text: str, path: str) -> tuple[Pipeline | None, list[Diagnostic]]:
    """Load and check YAML text under the ``generated`` profile (the one validity check,
    :func:`evopipe.check.validity.assess`), plus genesis's own quality bar: (pipeline or None,
    errors)."""
    validity = assess(text, path=path, profile=PROFILE)
    if validity.pipeline is None:
        return None, list(validity.errors)
    errors = [*validity.errors, *quality_diagnostics(validity.pipeline, path)]
    return (validity.pipeline if not errors else None), errors


def quality_diagnostics(pipeline: Pipeline, path: str) -> list[Diagnostic]:
    """Genesis's own bar for a generated pipeline: it reads an input and exposes an output."""
    found: list[Diagnostic] = []
    reads_input = any(
        ref.root == "inputs"
        for step in pipeline.steps
        for text in step.templates().values()
        for ref in safe_refs(text)
    )
    if not reads_input:
        found.append(
            Diagnostic(
                "genesis-no-input-read",
                "no step reads an input: the pipeline ignores what it is given",
                path=path,
                line=1,
                column=1,
                hint="declare an input and read it as {{ inputs.NAME }} in the first prompt",
            )
        )
    if not pipeline.outputs:
        found.append(
            Diagnostic(
                "genesis-no-outputs",
                "the pipeline declares no outputs",
                path=path,
                line=1,
                column=1,
                hint="map output names to templates such as {{ steps.ID.output.FIELD }}",
            )
        )
    return found


class _FakeEverything:
    """A model source answering every model id with the schema-aware fake."""

    def __init__(self) -> None:
        self._fake = FakeModel()

    @property
    def default_model_id(self) -> str:
        return "fake"

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Model:
        return self._fake


def sample_value(schema: Mapping[str, Any], name: str) -> Any:
    """A plausible value for an input: its default, else one by type."""
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    by_type: dict[str, Any] = {
        "string": f"sample {name.replace('_', ' ')}",
        "number": 1.0,
        "integer": 1,
        "boolean": True,
        "array": [f"sample {name} 1", f"sample {name} 2"],
        "object": {},
    }
    kind = schema.get("type", "string")
    return by_type.get(kind if isinstance(kind, str) else "string", f"sample {name}")


def sample_inputs(pipeline: Pipeline) -> dict[str, Any]:
    return {name: sample_value(schema, name) for name, schema in pipeline.inputs.items()}


@dataclass(frozen=True)
class DryRun:
    ok: bool
    status: str
    error: str | None
    outputs: dict[str, Any]
    diagnostics: list[Diagnostic] = field(default_factory=list)


async def dry_run(pipeline: Pipeline, *, timeout_s: float = 30.0) -> DryRun:
    """Run with the fake model on sample inputs, untrusted, unjournaled."""
    services = Services(models=_FakeEverything(), policy=Policy.untrusted())
    options = RunOptions(model="fake", cache=False, timeout_s=timeout_s)
    try:
        result = await run_pipeline(
            pipeline, sample_inputs(pipeline), services=services, options=options
        )
    except SpecError as exc:
        return DryRun(False, "refused", str(exc), {}, list(exc.diagnostics))
    except EvopipeError as exc:
        return DryRun(False, "refused", str(exc), {})
    return DryRun(result.ok, result.status, result.error, dict(result.outputs))


def dry_run_diagnostics(run: DryRun, path: str) -> list[Diagnostic]:
    """The plan's own diagnostics when the engine refused the spec, else one ``dry-run-failed``."""
    if run.diagnostics:
        return [replace(d, path=path) for d in run.diagnostics]
    return [_dry_run_failed(run, path)]


def _dry_run_failed(run: DryRun, path: str) -> Diagnostic:
    return Diagnostic(
        "dry-run-failed",
        f"the dry run with the fake model ended {run.status}: {run.error or 'no error text'}",
        path=path,
        line=1,
        column=1,
        hint="every template must resolve against the outputs the contracts promise",
    )
