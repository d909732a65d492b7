"""The top-level pipeline document (``apiVersion: evopipe/v1``, ``kind: Pipeline``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from evopipe.spec import kinds
from evopipe.spec._steps_union import open_step_union
from evopipe.spec.base import JsonSchema, StepBase, Strict

if TYPE_CHECKING:  # what type checkers see: a step model of any kind
    Step = StepBase
else:  # what pydantic validates: the built-in kinds, then the catalog's plugin kinds
    Step = open_step_union(kinds.KIND_MODELS)


class Defaults(Strict):
    """Model settings every llm-like step inherits unless it sets its own."""

    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None
    timeout_s: float | None = Field(default=None, gt=0)


class Persona(Strict):
    """A named system prompt with its own model settings (``tools`` is refused by the checker:
    no step kind passes a persona's tools to its model)."""

    system: str
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    tools: list[str] = Field(default_factory=list)


class Limits(Strict):
    """Budgets over the whole run tree (sub-pipelines and generated pipelines count)."""

    max_steps: int | None = Field(default=None, ge=1)
    max_depth: int = Field(default=5, ge=0, le=50)
    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, ge=0)
    timeout_s: float | None = Field(default=None, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)


class Promotion(Strict):
    """Rules for promoting an evolved version of this pipeline to champion."""

    require_approval: bool = False
    confidence: float = Field(default=0.95, gt=0, lt=1)


class Pipeline(Strict):
    """A pipeline: typed inputs, steps forming a DAG, templated outputs."""

    api_version: Literal["evopipe/v1"] = Field(alias="apiVersion")
    kind: Literal["Pipeline"] = "Pipeline"
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    description: str = ""
    version: str = "0.1.0"
    inputs: dict[str, JsonSchema] = Field(
        default_factory=dict, description="Input name → JSON Schema (may carry `default`)."
    )
    outputs: dict[str, Any] = Field(default_factory=dict, description="Output name → template.")
    defaults: Defaults = Field(default_factory=Defaults)
    personas: dict[str, Persona] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    promotion: Promotion = Field(default_factory=Promotion)
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free-form annotations (origin, lineage, tags)."
    )
    steps: list[Step] = Field(min_length=1)

    def step(self, step_id: str) -> StepBase:
        """The top-level step with this id (KeyError if there is none)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


for _model in (kinds.MapStep, kinds.LoopStep, kinds.PipelineStep):
    _model.model_rebuild(_types_namespace={"Step": Step, "Pipeline": Pipeline})
Pipeline.model_rebuild()
