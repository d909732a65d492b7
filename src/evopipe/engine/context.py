"""The engine's implementation of :class:`evopipe.steps.base.StepContext` (one per attempt)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.engine.journal import ApprovalDecision
from evopipe.engine.policy import Policy
from evopipe.engine.types import RunResult, Services
from evopipe.models.base import ModelRequest, ModelResponse
from evopipe.spec.base import StepBase
from evopipe.spec.conditions import parse_condition
from evopipe.spec.errors import ConditionError, TemplateError
from evopipe.spec.pipeline import Pipeline
from evopipe.steps.base import ScopeResult

if TYPE_CHECKING:
    from evopipe.engine.calls import CallRecord
    from evopipe.engine.state import Scope
    from evopipe.engine.templates import Renderer


def render_in(
    renderer: Renderer, namespace: Mapping[str, Any], step_id: str, value: Any, where: str
) -> Any:
    """Render ``value`` against ``namespace``; errors name the step (used by every context)."""
    try:
        return renderer.render(value, namespace, where)
    except TemplateError as exc:
        raise TemplateError(f"step {step_id!r}, {exc}") from None


def evaluate_in(namespace: Mapping[str, Any], step_id: str, condition: str) -> bool:
    """Evaluate a condition against ``namespace``; errors name the step and the condition."""
    try:
        return parse_condition(condition).test(namespace)
    except ConditionError as exc:
        raise ConditionError(f"step {step_id!r}: condition {condition!r}: {exc}") from None


_ATTEMPT_ENDS = frozenset({"step_succeeded", "step_failed", "step_skipped"})


class StepUsage:
    """Usage of one step across its attempts (model calls through the context)."""

    __slots__ = ("cached", "calls", "cost_usd", "input_tokens", "output_tokens")

    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd: float | None = 0.0
        self.calls = 0
        self.cached = False


class EngineContext:
    """What a running step may use (see :class:`evopipe.steps.base.StepContext`)."""

    __slots__ = ("_config", "_model_id", "_scope", "attempt", "step_id", "usage")

    def __init__(
        self,
        scope: Scope,
        config: StepBase,
        step_id: str,
        attempt: int,
        model_id: str | None,
        usage: StepUsage,
    ) -> None:
        self._scope = scope
        self._config = config
        self.step_id = step_id
        self.attempt = attempt
        self._model_id = model_id
        self.usage = usage

    @property
    def model_id(self) -> str:
        """The model for this attempt (resolved on first use for kinds without a model
        field: ``--model``, ``defaults.model``, the hub's default)."""
        if self._model_id is None:
            from evopipe.engine.steprun import resolve_model

            self._model_id = resolve_model(self._scope, self._config)
        return self._model_id

    # -- identity and services ----------------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self._scope.state.run_id

    @property
    def idempotency_key(self) -> str:
        return f"{self._scope.state.run_id}:{self.step_id}"

    @property
    def services(self) -> Services:
        return self._scope.state.services

    @property
    def policy(self) -> Policy:
        return self._scope.policy

    @property
    def workspace(self) -> Path:
        return self._scope.state.workspace

    @property
    def base_dir(self) -> Path:
        return self._scope.base_dir

    @property
    def pipeline(self) -> Pipeline:
        return self._scope.pipeline

    @property
    def namespace(self) -> Mapping[str, Any]:
        return self._scope.namespace

    @property
    def depth(self) -> int:
        return self._scope.depth

    @property
    def decision(self) -> ApprovalDecision | None:
        """The recorded approval decision for this step (``evopipe approve``), if any."""
        return self._scope.state.approvals.get(self.step_id)

    # -- templates and conditions -------------------------------------------------------------

    def _ns(self, extra: Mapping[str, Any] | None) -> Mapping[str, Any]:
        return {**self._scope.namespace, **extra} if extra else self._scope.namespace

    def render(self, value: Any, extra: Mapping[str, Any] | None = None, where: str = "") -> Any:
        return render_in(self._scope.state.renderer, self._ns(extra), self.step_id, value, where)

    def evaluate(self, condition: str, extra: Mapping[str, Any] | None = None) -> bool:
        return evaluate_in(self._ns(extra), self.step_id, condition)

    # -- model calls, sub-runs, events --------------------------------------------------------

    async def complete(
        self, request: ModelRequest, *, model_id: str | None = None, cache: bool | None = None
    ) -> ModelResponse:
        from evopipe.engine.calls import call_model

        return await call_model(self, self._scope, self._config, request, model_id, cache)

    def may_call(self, model_id: str) -> None:
        """Raise unless the run's budget lets a call to ``model_id`` go out (for a step whose
        model calls are made elsewhere, e.g. on a Ray worker)."""
        from evopipe.engine.calls import may_call

        may_call(self._scope, model_id)

    def count_calls(self, records: Iterable[CallRecord]) -> None:
        """Count model calls made elsewhere as if made here (usage, events, budget)."""
        from evopipe.engine.calls import count

        count(self, self._scope, records)

    def cache_policy(self, cache: bool | None = None) -> Any:
        """The response-cache policy of this step's calls (see
        :func:`evopipe.engine.calls.cache_policy`)."""
        from evopipe.engine.calls import cache_policy

        if self._scope.state.masker is not None:  # calls made elsewhere (Ray) hold secrets
            return "off"
        return cache_policy(self._scope, self._config, cache)

    async def run_pipeline(
        self,
        pipeline: Pipeline | str,
        inputs: Mapping[str, Any],
        *,
        scope: str | None = None,
        policy: Policy | None = None,
    ) -> RunResult:
        from evopipe.engine.subruns import run_subpipeline

        return await run_subpipeline(
            self._scope, self.step_id, pipeline, inputs, scope=scope, policy=policy
        )

    async def run_steps(
        self,
        steps: Sequence[StepBase],
        extra_namespace: Mapping[str, Any],
        *,
        scope: str,
        max_concurrency: int | None = None,
    ) -> ScopeResult:
        from evopipe.engine.subruns import run_inner_steps

        return await run_inner_steps(
            self._scope,
            self.step_id,
            steps if isinstance(steps, list) else list(steps),
            extra_namespace,
            scope,
            max_concurrency,
        )

    def emit(self, type: str, **data: Any) -> None:
        self._scope.state.emit(type, self.step_id, data)

    def journaled(self, type: str) -> list[Mapping[str, Any]]:
        store = self._scope.state.services.store
        if store is None:
            return []
        found: list[Mapping[str, Any]] = []
        for ev in store.load_events(self.run_id):
            if ev.step_id != self.step_id:
                continue
            if ev.type in _ATTEMPT_ENDS:
                found = []
            elif ev.type == type:
                found.append(dict(ev.data))
        return found
