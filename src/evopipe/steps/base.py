"""The step protocol: what a step kind is and what it may ask of the engine.

A kind is **one module** with three names::

    kind: str = "set"                       # the ``kind:`` value in pipeline files
    config_model: type[StepBase] = SetStep  # its typed config (from ``evopipe.spec.kinds``)

    async def run(ctx: StepContext, config: SetStep) -> StepResult: ...

and one line in the registry table :data:`evopipe.steps.KINDS`. What the engine must know of a
kind is declared once, on its config model (``kind_info``, see
:class:`evopipe.spec.catalog.KindInfo`): a ``container`` (map, loop, pipeline, generate) holds
none of the run's global concurrency slots while its children run; an ``instant`` kind (set,
switch, tool) is recorded with one journal event (its end) instead of two; a kind that
``needs_trust`` is refused under an untrusted policy before it runs. The engine validates nothing a
kind must re-validate: ``config`` is the pydantic model from the spec, with templates **not yet
rendered** — a kind renders what it needs with :meth:`StepContext.render` (so a kind decides
which fields are templates and when they are rendered, e.g. ``map`` renders ``over`` once and
its inner steps per item).

Errors: raise an :class:`~evopipe.spec.errors.EvopipeError` subclass with a clear message. A
:class:`~evopipe.models.base.RetryableModelError` (timeout, 429, 5xx, invalid output) makes the
engine retry the step with backoff and then its fallback models; any other exception fails the
step at once. :class:`StepFailed` is a convenient "this step failed, here is why".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from evopipe.models.base import ModelRequest, ModelResponse, Usage
from evopipe.spec.base import StepBase
from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.engine.journal import ApprovalDecision
    from evopipe.engine.policy import Policy
    from evopipe.engine.results import RunResult, StepRecord
    from evopipe.engine.templates import Renderer
    from evopipe.engine.types import ModelSource
    from evopipe.spec.pipeline import Pipeline

ResultStatus = Literal["succeeded", "skipped", "waiting"]
NO_USAGE = Usage()
NO_META: Mapping[str, Any] = MappingProxyType({})


class StepFailed(EvopipeError):
    """A step failed for a reason retrying will not fix."""

    def __init__(self, step_id: str, message: str) -> None:
        super().__init__(f"step {step_id!r}: {message}")
        self.step_id = step_id


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a kind's ``run`` returns.

    ``usage``/``cost_usd`` are only for usage the engine did not see: calls made through
    :meth:`StepContext.complete` and sub-runs are accounted automatically, so most kinds leave
    them at zero. ``status="waiting"`` pauses the run (approval); ``"skipped"`` records the
    step as skipped (e.g. a rejected approval with ``on_reject: skip``). ``meta`` goes to the
    journal with the output (e.g. the switch's chosen branch, a map's per-item statuses).
    """

    output: Any = None
    usage: Usage = NO_USAGE
    cost_usd: float = 0.0
    cached: bool = False
    status: ResultStatus = "succeeded"
    meta: Mapping[str, Any] = field(default_factory=lambda: NO_META)


@dataclass(frozen=True, slots=True)
class ScopeResult:
    """The outcome of :meth:`StepContext.run_steps`: one inner scope (a map item, a loop
    iteration). ``outputs`` maps inner step id → output (None for skipped steps);
    ``last_output`` is the output of the last step in the list that produced one."""

    status: Literal["succeeded", "failed", "waiting", "cancelled", "budget_exceeded"]
    outputs: dict[str, Any]
    steps: list[StepRecord]
    last_output: Any = None
    error: str | None = None
    namespace: Mapping[str, Any] = field(default_factory=dict)
    """The template namespace as it stood at the end (for ``collect``/``until``)."""


class StepServices(Protocol):
    """The part of the run's services a step kind may use (``ctx.services``).

    Narrower than :class:`evopipe.engine.types.Services` on purpose: no store, no event bus,
    no plan cache — a kind journals and publishes through its context (``emit``, sub-runs),
    so that an executor can run it away from those. The policy, the workspace and the
    pipeline's directory are on the context itself."""

    @property
    def models(self) -> ModelSource:
        """The model hub (prefer :meth:`StepContext.complete`, which accounts usage)."""
        ...

    @property
    def renderer(self) -> Renderer:
        """Compiled templates (prefer :meth:`StepContext.render`)."""
        ...

    @property
    def hooks(self) -> Mapping[str, Any]:
        """Callables from upper layers: ``generator`` (genesis), ``http_transport`` ..."""
        ...

    @property
    def settings(self) -> Mapping[str, Any]:
        """Plain settings of the session (serialisable)."""
        ...


class StepContext(Protocol):
    """What the engine offers a running step. One context per attempt."""

    @property
    def run_id(self) -> str: ...

    @property
    def step_id(self) -> str:
        """The step's id; a path inside inner scopes (``fanout[3].summarise``)."""
        ...

    @property
    def attempt(self) -> int:
        """1 for the first attempt, 2 after one retry, ..."""
        ...

    @property
    def idempotency_key(self) -> str:
        """Stable across resumes of the same run: ``{run_id}:{step_path}``. Side-effecting
        kinds (http, shell) pass it on so that a re-run in-flight step is not applied twice."""
        ...

    @property
    def model_id(self) -> str:
        """The model this attempt should use: step/persona pin, else ``--model``, else
        ``defaults.model``, else the hub's default; moves along ``retry.fallback_models``."""
        ...

    @property
    def services(self) -> StepServices: ...

    @property
    def policy(self) -> Policy: ...

    @property
    def workspace(self) -> Path:
        """The run's private working directory (created on first access)."""
        ...

    @property
    def base_dir(self) -> Path:
        """Directory of the pipeline file (relative sub-pipeline paths resolve from here)."""
        ...

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline this step belongs to (for defaults and personas)."""
        ...

    @property
    def depth(self) -> int:
        """0 for the top-level run, +1 per sub-pipeline."""
        ...

    @property
    def decision(self) -> ApprovalDecision | None:
        """The recorded human decision for this step (``evopipe approve RUN STEP [--reject]``),
        or None if nobody decided yet. The ``approval`` kind returns ``status="waiting"``
        while this is None."""
        ...

    @property
    def namespace(self) -> Mapping[str, Any]:
        """The template namespace: ``inputs``, ``steps``, ``run`` (+ ``item``/``index``,
        ``loop`` inside inner scopes)."""
        ...

    def render(self, value: Any, extra: Mapping[str, Any] | None = None, where: str = "") -> Any:
        """Render templates found in a str / nested dict / list. A string that is exactly one
        ``{{ expr }}`` keeps the JSON type of its value. ``extra`` overlays the namespace;
        ``where`` names the field in errors (:class:`~evopipe.spec.errors.TemplateError` names
        the step and the field)."""
        ...

    def evaluate(self, condition: str, extra: Mapping[str, Any] | None = None) -> bool:
        """Evaluate a condition of the safe condition language against the namespace."""
        ...

    async def complete(
        self, request: ModelRequest, *, model_id: str | None = None, cache: bool | None = None
    ) -> ModelResponse:
        """Call a model through the run's budgets, the response cache and usage accounting.
        ``model_id`` defaults to :attr:`model_id`. Raises the model's errors unchanged (the
        engine retries retryable ones around the whole step)."""
        ...

    async def run_pipeline(
        self,
        pipeline: Pipeline | str,
        inputs: Mapping[str, Any],
        *,
        scope: str | None = None,
        policy: Policy | None = None,
    ) -> RunResult:
        """Run a sub-pipeline (an inline spec or a path relative to :attr:`base_dir`) as part of
        this run: depth + 1 (``limits.max_depth``; deeper fails the step), budgets shared with
        the parent (the child's own ``limits`` apply to its subtree too). Its step paths are
        ``<this step path><scope>/<inner id>`` (``scope`` defaults to ""; a map passes
        ``"[3]"``). ``policy`` may only tighten (generated pipelines pass the untrusted one).
        A child exceeding its *own* limits returns ``status="budget_exceeded"``; exceeding an
        ancestor's budget ends the whole run tree."""
        ...

    async def run_steps(
        self,
        steps: Sequence[StepBase],
        extra_namespace: Mapping[str, Any],
        *,
        scope: str,
        max_concurrency: int | None = None,
    ) -> ScopeResult:
        """Run a list of inner steps (a map item, a loop iteration) as a small DAG of its own.
        ``extra_namespace`` is overlaid (``item``, ``index``, ``loop``); inner ``steps.<id>``
        shadow outer ones. ``scope`` is a label relative to this step: inner step paths are
        ``<this step path><scope>.<inner id>`` — a map passes ``"[3]"`` (→ ``fanout[3].sum``),
        a loop ``"#2"`` (→ ``refine#2.draft``). Pass the config's own list object (plans are
        cached per list). Budget and cancellation are shared with the run."""
        ...

    def emit(self, type: str, **data: Any) -> None:
        """Publish an event about this step (journaled, shown by subscribers)."""
        ...

    def journaled(self, type: str) -> list[Mapping[str, Any]]:
        """The data of this step's events of ``type`` already in the run's journal, oldest
        first, since the step's last completion or failure: what an interrupted attempt
        emitted before the process died. A long-running kind (``agent``) replays them on
        resume instead of redoing the work. Empty when the run is not journaled."""
        ...


class StepKind(Protocol):
    """A kind module (see the module docstring). Modules satisfy this protocol."""

    kind: str
    config_model: type[StepBase]

    async def run(self, ctx: StepContext, config: Any) -> StepResult: ...
