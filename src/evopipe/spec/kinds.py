"""Config models of the built-in step kinds (format v1).

One class per kind; the engine's ``evopipe.steps`` package holds their behaviour. The
``KIND_MODELS`` table maps a kind name to its model; :mod:`evopipe.spec.pipeline` builds the
discriminated union of steps from it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from evopipe.spec.base import StepBase, Strict
from evopipe.spec.catalog import PURE, KindInfo

if TYPE_CHECKING:
    from evopipe.spec.pipeline import Pipeline, Step


class Demo(Strict):
    """A worked example shown to the model before the real prompt (few-shot)."""

    input: str
    output: str


class LlmStep(StepBase):
    """Ask a model: a prompt template, optional system prompt or persona, model settings."""

    kind: Literal["llm"] = "llm"
    kind_info: ClassVar[KindInfo] = replace(PURE, calls_model=True, prompted=True)
    prompt: str = Field(description="User prompt template.")
    system: str | None = Field(default=None, description="System prompt template.")
    persona: str | None = Field(default=None, description="Name of a persona in `personas`.")
    model: str | None = Field(default=None, description="`provider:model`; default from defaults.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    demos: list[Demo] = Field(default_factory=list, description="Few-shot examples.")


class ExtractStep(LlmStep):
    """An llm step whose output contract is required: structured output."""

    kind: Literal["extract"] = "extract"  # type: ignore[assignment]
    kind_info: ClassVar[KindInfo] = replace(
        PURE, calls_model=True, prompted=True, requires_contract=True
    )


class MapStep(StepBase):
    """Fan out over a list: run inner steps (or a sub-pipeline) once per item."""

    kind: Literal["map"] = "map"
    kind_info: ClassVar[KindInfo] = replace(PURE, container=True, body=True)
    over: str = Field(description="Template resolving to a list.")
    max_concurrency: int | None = Field(default=None, ge=1)
    steps: list[Step] | None = Field(default=None, description="Inner steps run per item.")
    pipeline: str | Pipeline | None = Field(default=None, description="Sub-pipeline per item.")
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="Sub-pipeline inputs (templates; item/index visible)."
    )
    collect: str | None = Field(
        default=None, description="Template computing each item's result (default: last step)."
    )

    @classmethod
    def nested_fields(cls) -> tuple[str, ...]:
        return ("steps", "pipeline", "inputs", "collect")


class SwitchCase(Strict):
    """One branch: when the condition holds, the listed steps run."""

    when: str = Field(description="Condition.")
    then: list[str] = Field(description="Ids of steps this case activates.")


class SwitchStep(StepBase):
    """Route: the first case whose condition holds activates its steps; the others are skipped."""

    kind: Literal["switch"] = "switch"
    kind_info: ClassVar[KindInfo] = replace(PURE, instant=True)
    cases: list[SwitchCase] = Field(min_length=1)
    default: list[str] = Field(default_factory=list, description="Steps run when no case holds.")

    def conditions(self) -> dict[str, str]:
        found = super().conditions()
        for i, case in enumerate(self.cases):
            found[f"cases[{i}].when"] = case.when
        return found

    def branch_targets(self) -> list[str]:
        return [t for case in self.cases for t in case.then] + list(self.default)


class LoopStep(StepBase):
    """Repeat inner steps (or a sub-pipeline) until a condition holds or iterations run out."""

    kind: Literal["loop"] = "loop"
    kind_info: ClassVar[KindInfo] = replace(PURE, container=True, body=True)
    steps: list[Step] | None = None
    pipeline: str | Pipeline | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    until: str = Field(description="Condition evaluated after each iteration.")
    max_iterations: int = Field(default=5, ge=1, le=1000)

    @classmethod
    def nested_fields(cls) -> tuple[str, ...]:
        return ("steps", "pipeline", "inputs")

    def conditions(self) -> dict[str, str]:
        return {**super().conditions(), "until": self.until}


class PipelineStep(StepBase):
    """Run a sub-pipeline, by path (relative to this file) or inline."""

    kind: Literal["pipeline"] = "pipeline"
    kind_info: ClassVar[KindInfo] = replace(PURE, container=True)
    pipeline: str | Pipeline
    inputs: dict[str, Any] = Field(default_factory=dict, description="Templates.")

    @classmethod
    def nested_fields(cls) -> tuple[str, ...]:
        return ("pipeline",)


class GenerateStep(StepBase):
    """Meta: build a pipeline from a request (genesis) and optionally run it."""

    kind: Literal["generate"] = "generate"
    kind_info: ClassVar[KindInfo] = replace(PURE, calls_model=True, container=True)
    request: str = Field(description="Template: what the pipeline should do.")
    run: bool = True
    inputs: dict[str, Any] = Field(default_factory=dict)
    model: str | None = None
    max_repair_rounds: int = Field(default=3, ge=0, le=10)


class ApprovalStep(StepBase):
    """A human gate: the run waits until someone approves or rejects this step."""

    kind: Literal["approval"] = "approval"
    kind_info: ClassVar[KindInfo] = PURE
    message: str = Field(description="Template shown to the approver.")
    on_reject: Literal["fail", "skip"] = "fail"


class SetStep(StepBase):
    """Compute values from templates, no model involved."""

    kind: Literal["set"] = "set"
    kind_info: ClassVar[KindInfo] = replace(PURE, instant=True)
    values: dict[str, Any] = Field(min_length=1)


class PythonStep(StepBase):
    """Call an allowlisted Python function ``package.module:function`` with keyword args."""

    kind: Literal["python"] = "python"
    kind_info: ClassVar[KindInfo] = KindInfo(side_effects=True, needs_trust=True)
    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    args: dict[str, Any] = Field(default_factory=dict)


class ShellStep(StepBase):
    """Run a program with an argument list (never a shell string) in the run's workspace."""

    kind: Literal["shell"] = "shell"
    kind_info: ClassVar[KindInfo] = KindInfo(side_effects=True, needs_trust=True)
    command: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    stdin: str | None = None


class HttpStep(StepBase):
    """Call an HTTP endpoint on an allowlisted host."""

    kind: Literal["http"] = "http"
    kind_info: ClassVar[KindInfo] = KindInfo(side_effects=True, needs_trust=True)
    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None


class ToolStep(StepBase):
    """A deterministic tool from the built-in toolbox (count, sort, arithmetic, regex ...)."""

    kind: Literal["tool"] = "tool"
    kind_info: ClassVar[KindInfo] = replace(PURE, instant=True)
    tool: str = Field(description="Name of a toolbox function.")
    args: dict[str, Any] = Field(default_factory=dict)


KIND_MODELS: dict[str, type[StepBase]] = {
    "llm": LlmStep,
    "extract": ExtractStep,
    "map": MapStep,
    "switch": SwitchStep,
    "loop": LoopStep,
    "pipeline": PipelineStep,
    "generate": GenerateStep,
    "approval": ApprovalStep,
    "set": SetStep,
    "python": PythonStep,
    "shell": ShellStep,
    "http": HttpStep,
    "tool": ToolStep,
}
"""Built-in kind name → config model (plugins: :mod:`evopipe.spec.catalog`)."""

UNSAFE_KINDS = frozenset(k for k, m in KIND_MODELS.items() if m.kind_info.needs_trust)
"""Built-in kinds refused under the untrusted policy (read from each kind's ``kind_info``)."""
