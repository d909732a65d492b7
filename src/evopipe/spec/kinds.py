"""Config models of the built-in step kinds (format v1).

One class per kind; the engine's ``evopipe.steps`` package holds their behaviour. The
``KIND_MODELS`` table maps a kind name to its model; :mod:`evopipe.spec.pipeline` builds the
discriminated union of steps from it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from evopipe.spec.base import StepBase, Strict
from evopipe.spec.catalog import PURE, KindInfo
from evopipe.spec.fields import FIELD_NAME_PATTERN, InputField

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
    fields: dict[Annotated[str, StringConstraints(pattern=FIELD_NAME_PATTERN)], InputField] = Field(
        default_factory=dict,
        description="Typed values the approver gives (output `values`); see `spec.fields`.",
    )


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


AgentTool = Literal["list", "read", "grep", "write", "edit", "run"]
_READ_TOOLS: tuple[AgentTool, ...] = ("list", "read", "grep")


class AgentLimits(Strict):
    """When an agent stops. Each limit is reported to the model as what remains."""

    max_turns: int = Field(default=20, ge=1, le=1000, description="Model calls.")
    max_tool_calls: int = Field(default=50, ge=1, le=10_000, description="Tool executions.")
    max_tokens: int | None = Field(default=None, ge=1, description="Input + output tokens.")
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_wall_s: float = Field(default=600.0, gt=0, description="Wall time of the whole loop.")
    stuck_after: int = Field(
        default=3, ge=2, le=100, description="Identical action+result (or error) repeats → stuck."
    )


class AgentStep(StepBase):
    """A tool-using agent loop in the run's workspace (files, allowlisted commands)."""

    kind_info: ClassVar[KindInfo] = KindInfo(calls_model=True, side_effects=True, needs_trust=False)
    """Allowed untrusted with read-only tools; write/edit/run are gated by the policy."""
    kind: Literal["agent"] = "agent"
    task: str = Field(description="Template: what the agent must do.")
    system: str | None = Field(default=None, description="Extra system instructions (template).")
    model: str | None = Field(default=None, description="`provider:model`; default from defaults.")
    tools: list[AgentTool] = Field(
        default_factory=lambda: list(_READ_TOOLS),
        description="Tools offered; write/edit need a trusting policy, run needs shell.",
    )
    commands: list[str] = Field(
        default_factory=list,
        description="Allowlist for the run tool: patterns such as `pytest *`, `git diff*`.",
    )
    command_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    workdir: str = Field(default=".", description="Directory inside the workspace (template).")
    protocol: Literal["auto", "functions", "json", "text"] = Field(
        default="auto",
        description="Function calling, JSON actions (schema-constrained) or free text; auto: "
        "the first the model supports.",
    )
    limits: AgentLimits = Field(default_factory=AgentLimits)
    verify: list[str] = Field(
        default_factory=list,
        description="Commands run after the loop (e.g. `python -m pytest -q`); all must pass.",
    )
    revert_on_failure: bool = Field(
        default=True, description="Undo the agent's file changes when a verify command fails."
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, description="Output cap per model call.")


class SessionStep(StepBase):
    """One turn of a persisted conversation: history + prompt → reply, kept per user."""

    kind_info: ClassVar[KindInfo] = KindInfo(calls_model=True, side_effects=True, needs_trust=False)
    kind: Literal["session"] = "session"
    session: str = Field(description="Template: the conversation's name (per user).")
    user: str = Field(description="Template: who owns the conversation.")
    prompt: str = Field(description="Template: the user's message.")
    system: str | None = None
    model: str | None = None
    max_history: int = Field(default=50, ge=0, le=10_000, description="Messages sent back.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)


class CodingAgentStep(StepBase):
    """Drive a coding-agent CLI (Claude Code, Codex, Gemini CLI) in the run's workspace."""

    kind_info: ClassVar[KindInfo] = KindInfo(side_effects=True, needs_trust=True)
    kind: Literal["coding_agent"] = "coding_agent"
    cli: Literal["claude", "codex", "gemini"]
    prompt: str = Field(description="Template: the task for the coding agent.")
    executable: str | None = Field(default=None, description="Program (default: the CLI's name).")
    args: list[str] = Field(default_factory=list, description="Extra arguments (templates).")
    cli_model: str | None = Field(default=None, description="The CLI's own model name.")
    resume: str | None = Field(default=None, description="Template: a session id to continue.")
    idle_timeout_s: float = Field(
        default=300.0, gt=0, description="Kill the CLI after this long without output."
    )
    env: dict[str, str] = Field(default_factory=dict)


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
    "agent": AgentStep,
    "session": SessionStep,
    "coding_agent": CodingAgentStep,
}
"""Built-in kind name → config model (plugins: :mod:`evopipe.spec.catalog`)."""

UNSAFE_KINDS = frozenset(k for k, m in KIND_MODELS.items() if m.kind_info.needs_trust)
"""Built-in kinds refused under the untrusted policy (read from each kind's ``kind_info``)."""
